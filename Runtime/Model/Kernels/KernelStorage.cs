using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// Device buffers of one <see cref="KernelDevice"/>: allocation, host ↔ device copies, small index uploads.
/// Working buffers come from a <see cref="DeviceMemoryPool"/> (a decode step allocates no new device memory once the
/// first step has filled the pool); large uploads (weights) get dedicated buffers of their exact size, freed after the
/// next synchronization once disposed (so a GPU queue never waits on a free).
/// </summary>
internal sealed class KernelStorage(KernelDevice device) : IDisposable
{
    /// <summary>Retired bytes above which the storage synchronizes and frees them without waiting for a download.</summary>
    private const long RetiredBytesLimit = 512L << 20;

    /// <summary>Uploads of at least this many bytes (weights, restored caches) get a dedicated buffer of their exact
    /// size: they live long, and the pool's size-class rounding would waste up to 12.5% of the device's largest tensors.</summary>
    internal const long DedicatedUploadBytes = 4L << 20;

    private readonly List<IDisposable> retired = [];
    private long retiredBytes;
    private DeviceBuffer<int>? rowIndices; // [capacity] 0, 1, 2, …: grown on demand, uploaded once per size

    public KernelDevice Device { get; } = device;

    /// <summary>The caching allocator behind <see cref="Buffer{T}"/> (its counters prove a decode step allocates nothing new).</summary>
    public DeviceMemoryPool Pool { get; } = new(device);

    /// <summary>0, 1, …, count − 1 on the device (the rope kernels look their tables up by these indices).</summary>
    public ArrayView<int> RowIndices(int count)
    {
        if (rowIndices is null || rowIndices.Length < count)
        {
            var capacity = Math.Max(count, rowIndices is null ? 64 : (int)Math.Min(2 * rowIndices.Length, int.MaxValue));
            rowIndices?.Dispose();
            rowIndices = Buffer<int>(capacity);
            KernelSharp.Kernels.Tensors.TensorKernels.LaunchFillRange(Device, rowIndices.View, 0, capacity); // made on the device: no host array, no copy
        }

        return rowIndices.View.SubView(0, count);
    }

    /// <summary>Takes back a disposed <see cref="DeviceBuffer{T}"/>'s memory: into the pool, or retired when dedicated.</summary>
    public void Release<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, bool pooled)
        where T : unmanaged
    {
        if (pooled)
        {
            Pool.Return(buffer);
        }
        else
        {
            Retire(buffer, buffer.LengthInBytes);
        }
    }

    /// <summary>Queues <paramref name="buffer"/> to be freed once every kernel queued so far has finished.</summary>
    private void Retire(IDisposable buffer, long bytes)
    {
        if (Device.Accelerator.AcceleratorType == AcceleratorType.CPU)
        {
            buffer.Dispose(); // CPU launches have finished when they return
            return;
        }

        lock (retired)
        {
            retired.Add(buffer);
            retiredBytes += bytes;
        }

        if (retiredBytes > RetiredBytesLimit)
        {
            Synchronize();
        }
    }

    /// <summary>Waits for every queued kernel and copy, then frees the retired buffers.</summary>
    public void Synchronize()
    {
        Device.Synchronize();
        lock (retired)
        {
            foreach (var buffer in retired)
            {
                buffer.Dispose();
            }

            retired.Clear();
            retiredBytes = 0;
        }
    }

    public void Dispose()
    {
        rowIndices?.Dispose();
        Synchronize();
        Pool.Dispose();
    }

    /// <summary>An uninitialized tensor [rows, columns].</summary>
    public KernelTensor NewTensor(int rows, int columns) => new(Buffer<float>((long)rows * columns), rows, columns);

    /// <summary>An uninitialized index tensor [rows, columns].</summary>
    public KernelIndexTensor NewIndexTensor(int rows, int columns) => new(Buffer<int>((long)rows * columns), rows, columns);

    /// <summary>A pooled buffer of at least one element (empty buffers are refused by some ILGPU backends).</summary>
    public DeviceBuffer<T> Buffer<T>(long length)
        where T : unmanaged
    {
        length = Math.Max(1, length);
        return new(this, Pool.Rent<T>(length), length, pooled: true);
    }

    /// <summary>A buffer of exactly <paramref name="length"/> elements (at least one), outside the pool.</summary>
    public DeviceBuffer<T> DedicatedBuffer<T>(long length)
        where T : unmanaged
    {
        length = Math.Max(1, length);
        return new(this, Device.Allocate<T>(length), length, pooled: false);
    }

    /// <summary>Host values into a new device buffer [values.Length] (dedicated from <see cref="DedicatedUploadBytes"/> on).</summary>
    public DeviceBuffer<T> Upload<T>(T[] values)
        where T : unmanaged
    {
        var bytes = (long)values.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        var buffer = bytes >= DedicatedUploadBytes ? DedicatedBuffer<T>(values.Length) : Buffer<T>(values.Length);
        if (values.Length > 0)
        {
            // A copy on the accelerator's default stream: ordered after the kernels queued before it.
            buffer.View.SubView(0, values.Length).CopyFromCPU(values);
        }

        return buffer;
    }

    /// <summary>
    /// Largest piece a weight travels in from the host (default 64 MiB): a weight of any size streams from the
    /// memory-mapped checkpoint straight into its device buffer, never through a host array of its own size.
    /// </summary>
    public int UploadChunkBytes
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 64 << 20;

    /// <summary>Host-to-device weight chunks copied so far (tests prove large weights travel in pieces).</summary>
    public long UploadedChunks { get; private set; }

    /// <summary>Weight bytes generated on the device so far instead of copied (synthetic models; tests prove nothing came from the host).</summary>
    public long GeneratedBytes { get; private set; }

    /// <summary>The largest weight chunk copied so far, in bytes.</summary>
    public int LargestUploadedChunk { get; private set; }

    /// <summary>
    /// Whether weights that sit in a memory-mapped checkpoint are read where they are mapped instead of copied
    /// (<see cref="WeightView{T}"/>): on by default on the generated CPU path, whose "device memory" is host memory, so a
    /// copy would only double the weights' footprint. GPUs (and ILGPU's CPU accelerator, which stands in for one in
    /// tests) copy. Tests turn it off to exercise the chunked copy on the CPU.
    /// </summary>
    public bool ReadsWeightsInPlace { get; set; } = device.Backend == KernelBackend.FastCpu;

    /// <summary>Weight bytes read in place from a mapped checkpoint so far (tests prove nothing was copied).</summary>
    public long InPlaceBytes { get; private set; }

    /// <summary>
    /// A weight's bytes as a view of <typeparamref name="T"/> [source.Length / sizeof(T)] and the object that keeps it
    /// alive: the mapped file itself when <see cref="ReadsWeightsInPlace"/> and the bytes are one mapped range, else a
    /// device buffer they were copied into (<see cref="UploadWeight{T}"/>); and the mapped address read in place (0 for a copy).
    /// </summary>
    public (ArrayView<T> View, IDisposable Owner, nint InPlace) WeightView<T>(WeightBytes source)
        where T : unmanaged
    {
        var address = ReadsWeightsInPlace ? source.MappedAddress : 0;
        if (address == 0)
        {
            var uploaded = UploadWeight<T>(source);
            return (uploaded.View, uploaded, 0);
        }

        var size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (source.Length % size != 0)
        {
            throw new ArgumentException($"a weight of {source.Length} bytes is not a whole number of {typeof(T).Name} values", nameof(source));
        }

        var lease = source.KeepMapped();
        var length = source.Length / size;
        // A CPU buffer over the mapped pages: it frees nothing when disposed; the lease unmaps once the last weight goes.
        var buffer = ILGPU.Runtime.CPU.CPUMemoryBuffer.Create(Device.Accelerator, address, length, size);
        InPlaceBytes += source.Length;
        return (new ArrayView<T>(buffer, 0, length), new MappedWeight(buffer, lease), address);
    }

    /// <summary>The owner of a weight read in place: its view's buffer object and the mapping's lease.</summary>
    private sealed class MappedWeight(IDisposable buffer, IDisposable lease) : IDisposable
    {
        public void Dispose()
        {
            buffer.Dispose();
            lease.Dispose();
        }
    }

    /// <summary>A weight's bytes into a new device buffer of <typeparamref name="T"/> [source.Length / sizeof(T)], chunk by chunk.</summary>
    public DeviceBuffer<T> UploadWeight<T>(WeightBytes source)
        where T : unmanaged
    {
        var size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (source.Length % size != 0)
        {
            throw new ArgumentException($"a weight of {source.Length} bytes is not a whole number of {typeof(T).Name} values", nameof(source));
        }

        var length = source.Length / size;
        var buffer = source.Length >= DedicatedUploadBytes ? DedicatedBuffer<T>(length) : Buffer<T>(length);
        CopyWeightInto(buffer.View, 0, source);
        return buffer;
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> from byte <paramref name="byteOffset"/> on, in chunks of at most <see cref="UploadChunkBytes"/>.</summary>
    public void CopyWeightInto<T>(ArrayView<T> destination, long byteOffset, WeightBytes source)
        where T : unmanaged
    {
        var bytes = destination.Cast<byte>();
        if (byteOffset < 0 || byteOffset + source.Length > bytes.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"{source.Length} bytes at {byteOffset} do not fit a device buffer of {bytes.Length} bytes");
        }

        foreach (var (part, partOffset) in source.Parts())
        {
            var start = byteOffset + partOffset;
            if (part is Synthetic.GeneratedWeightBytes generated && generated.GeneratesOnDevice)
            {
                // Made where it lives: no host bytes, no copy.
                KernelWeightGeneration.Fill(Device, bytes.SubView(start, part.Length), generated);
                GeneratedBytes += part.Length;
                continue;
            }

            part.ReadChunks(UploadChunkBytes, (chunk, offset) =>
            {
                // Synchronous from the host's side: the chunk (a page range of the mapped file) may be released once it returns.
                bytes.SubView(start + offset, chunk.Length).CopyFromCPU(ref System.Runtime.CompilerServices.Unsafe.AsRef(in System.Runtime.InteropServices.MemoryMarshal.GetReference(chunk)), chunk.Length);
                UploadedChunks++;
                LargestUploadedChunk = Math.Max(LargestUploadedChunk, chunk.Length);
            });
        }
    }

    /// <summary>The first <paramref name="length"/> elements of <paramref name="view"/> on the host, after every queued kernel.</summary>
    public T[] Download<T>(ArrayView<T> view, long length)
        where T : unmanaged
    {
        var host = new T[length];
        Synchronize();
        if (length > 0)
        {
            view.SubView(0, length).CopyToCPU(host);
        }

        return host;
    }

    /// <summary>
    /// The first <paramref name="destination"/>.Length elements of <paramref name="view"/> into <paramref name="destination"/>,
    /// after every queued kernel: a download into a buffer the caller keeps, so that a decode step's logits need no new
    /// host array (a vocabulary-sized one per token lands on the large-object heap and brings full collections).
    /// </summary>
    public unsafe void Download<T>(ArrayView<T> view, Span<T> destination)
        where T : unmanaged
    {
        Synchronize();
        if (destination.IsEmpty)
        {
            return;
        }

        // Pinned for the copy: on a GPU the driver writes through the address while the copy runs.
        fixed (T* target = destination)
        {
            view.SubView(0, destination.Length).CopyToCPU(ref *target, destination.Length);
        }
    }
}
