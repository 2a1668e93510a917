using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>Device buffers of one <see cref="KernelDevice"/>: allocation, host ↔ device copies and small index uploads.</summary>
internal sealed class KernelStorage(KernelDevice device) : IDisposable
{
    private MemoryBuffer1D<int, Stride1D.Dense>? rowIndices; // [capacity] 0, 1, 2, …: grown on demand, uploaded once per size

    public KernelDevice Device { get; } = device;

    /// <summary>0, 1, …, count − 1 on the device (the rope kernels look their tables up by these indices).</summary>
    public ArrayView<int> RowIndices(int count)
    {
        if (rowIndices is null || rowIndices.Length < count)
        {
            var capacity = Math.Max(count, rowIndices is null ? 64 : (int)Math.Min(2 * rowIndices.Length, int.MaxValue));
            rowIndices?.Dispose();
            rowIndices = Upload(Enumerable.Range(0, capacity).ToArray());
        }

        return rowIndices.View.SubView(0, count);
    }

    public void Dispose() => rowIndices?.Dispose();

    /// <summary>An uninitialized tensor [rows, columns].</summary>
    public KernelTensor NewTensor(int rows, int columns) => new(Buffer<float>((long)rows * columns), rows, columns);

    /// <summary>An uninitialized index tensor [rows, columns].</summary>
    public KernelIndexTensor NewIndexTensor(int rows, int columns) => new(Buffer<int>((long)rows * columns), rows, columns);

    /// <summary>A buffer of at least one element (empty buffers are refused by some ILGPU backends).</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Buffer<T>(long length)
        where T : unmanaged => Device.Allocate<T>(Math.Max(1, length));

    /// <summary>Host values into a new device buffer [values.Length].</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(T[] values)
        where T : unmanaged
    {
        var buffer = Buffer<T>(values.Length);
        if (values.Length > 0)
        {
            // A copy on the accelerator's default stream: ordered after the kernels queued before it.
            buffer.View.SubView(0, values.Length).CopyFromCPU(values);
        }

        return buffer;
    }

    /// <summary>The first <paramref name="length"/> elements of <paramref name="view"/> on the host, after every queued kernel.</summary>
    public T[] Download<T>(ArrayView<T> view, long length)
        where T : unmanaged
    {
        var host = new T[length];
        Device.Synchronize();
        if (length > 0)
        {
            view.SubView(0, length).CopyToCPU(host);
        }

        return host;
    }
}
