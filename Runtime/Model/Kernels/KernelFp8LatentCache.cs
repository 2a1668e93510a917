using ILGPU;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// One layer's MLA cache in DeepSeek-V3.2's FP8 layout (<see cref="Fp8LatentRows"/>: per token 512 e4m3 latent values,
/// 4 fp32 scales and 64 bf16 rope values, 656 bytes), one byte buffer [maxContext, RowBytes]. The model sees it as the
/// two cache tensors it always has, the latent c and k_pe (<see cref="Fp8LatentCachePart"/>); the backend's cache
/// writers stage new rows in fp32 and store them with <see cref="MlaKernels.StoreKvCacheFp8"/>, and MLA attention
/// reads the bytes directly.
/// </summary>
internal sealed class KernelFp8LatentCache
{
    private readonly DeviceBuffer<byte> buffer; // [maxContext · RowBytes(L, R)]
    private int users = 2;                       // the two parts; the buffer goes back with the last

    private KernelFp8LatentCache(DeviceBuffer<byte> buffer, int maxContext, int latentDim, int ropeDim)
    {
        this.buffer = buffer;
        MaxContext = maxContext;
        LatentDim = latentDim;
        RopeDim = ropeDim;
    }

    public int MaxContext { get; }

    public int LatentDim { get; }

    public int RopeDim { get; }

    /// <summary>The rows as the attention kernels read them.</summary>
    public Fp8LatentRows Rows => new(buffer.View.SubView(0, (long)MaxContext * Fp8LatentRows.RowBytes(LatentDim, RopeDim)), LatentDim);

    /// <summary>A zero-filled cache (zero codes and zero scales: every value reads 0) and its latent and rope parts.</summary>
    public static (Tensor Latent, Tensor RopeKeys) Allocate(KernelStorage storage, int maxContext, int latentDim, int ropeDim)
    {
        Fp8LatentRows.Validate(latentDim, ropeDim);
        var bytes = (long)maxContext * Fp8LatentRows.RowBytes(latentDim, ropeDim);
        var buffer = storage.Buffer<byte>(bytes);
        if (bytes > 0)
        {
            // Rows are multiples of 16 bytes, so the buffer is whole floats: filled as such (there is no byte fill kernel).
            TensorKernels.LaunchFillFloat(storage.Device, buffer.View.SubView(0, bytes).Cast<float>(), 0f, checked((int)(bytes / sizeof(float))));
        }

        var cache = new KernelFp8LatentCache(buffer, maxContext, latentDim, ropeDim);
        return (new Fp8LatentCachePart(cache, 0, latentDim), new Fp8LatentCachePart(cache, latentDim, ropeDim));
    }

    /// <summary>Stores fp32 values [rowCount, part.Columns]: value row r into cache row destinationRows[r] of <paramref name="part"/>.</summary>
    public void Store(KernelStorage storage, Fp8LatentCachePart part, KernelTensor values, ArrayView<int> destinationRows)
    {
        if (values.Rows > 0 && values.Columns > 0)
        {
            MlaKernels.LaunchStoreKvCacheFp8(storage.Device, values.View, Rows.Bytes, destinationRows, values.Rows, values.Columns, part.FirstColumn, LatentDim, RopeDim);
        }
    }

    /// <summary>The part's values [MaxContext, part.Columns] as the attention reads them (dequantized on the host).</summary>
    public float[] Download(KernelStorage storage, Fp8LatentCachePart part)
    {
        var rows = StoreKvCacheFp8Reference.Dequantize(storage.Download(Rows.Bytes, Rows.Bytes.Length), MaxContext, LatentDim, RopeDim); // [MaxContext, L+R]
        var values = new float[(long)MaxContext * part.Columns];
        for (var row = 0; row < MaxContext; row++)
        {
            Array.Copy(rows, ((long)row * (LatentDim + RopeDim)) + part.FirstColumn, values, (long)row * part.Columns, part.Columns);
        }

        return values;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref users) == 0)
        {
            buffer.Dispose();
        }
    }
}

/// <summary>
/// The latent c (columns 0 .. L−1) or k_pe (columns L .. L+R−1) of a <see cref="KernelFp8LatentCache"/>: a cache tensor
/// the backend's cache writers (WriteRows, WriteRotatedRows, RmsNormRowsInto) fill through staging
/// (<see cref="QuantizedCacheTensor"/>), Download reads and MLA attention takes.
/// </summary>
internal sealed class Fp8LatentCachePart(KernelFp8LatentCache cache, int firstColumn, int columns) : QuantizedCacheTensor(cache.MaxContext, columns)
{
    private bool disposed;

    public KernelFp8LatentCache Cache { get; } = cache;

    /// <summary>Where this part starts in a row [c ‖ k_pe].</summary>
    public int FirstColumn { get; } = firstColumn;

    public override void Store(KernelStorage storage, KernelTensor values, ArrayView<int> destinationRows) => Cache.Store(storage, this, values, destinationRows);

    public override float[] Download(KernelStorage storage) => Cache.Download(storage, this);

    public override void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            Cache.Release();
        }

        base.Dispose();
    }

    public override string ToString() => $"{base.ToString()} (FP8 latent cache, {(FirstColumn == 0 ? "latent" : "rope")} part)";
}
