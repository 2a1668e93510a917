using ILGPU;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>A tensor of the kernel backend: a row-major fp32 device buffer [Rows × Columns].</summary>
internal sealed class KernelTensor : Tensor
{
    private readonly DeviceBuffer<float> buffer; // [max(1, Rows·Columns)]: ILGPU refuses empty buffers on some backends

    public KernelTensor(DeviceBuffer<float> buffer, int rows, int columns)
        : base(rows, columns)
    {
        if (buffer.Length < (long)rows * columns)
        {
            throw new ArgumentException($"a buffer of {buffer.Length} floats cannot hold [{rows}, {columns}]", nameof(buffer));
        }

        this.buffer = buffer;
    }

    /// <summary>The whole tensor, [Rows·Columns].</summary>
    public ArrayView<float> View => buffer.View.SubView(0, Length);

    /// <summary>Rows firstRow .. firstRow + rowCount − 1, [rowCount·Columns].</summary>
    public ArrayView<float> RowsView(int firstRow, int rowCount) => buffer.View.SubView((long)firstRow * Columns, (long)rowCount * Columns);

    public override void Dispose()
    {
        buffer.Dispose();
        base.Dispose();
    }
}

/// <summary>An index tensor of the kernel backend: a row-major int32 device buffer [Rows × Columns].</summary>
internal sealed class KernelIndexTensor : IndexTensor
{
    private readonly DeviceBuffer<int> buffer; // [max(1, Rows·Columns)]

    public KernelIndexTensor(DeviceBuffer<int> buffer, int rows, int columns)
        : base(rows, columns)
    {
        if (buffer.Length < (long)rows * columns)
        {
            throw new ArgumentException($"a buffer of {buffer.Length} ints cannot hold [{rows}, {columns}]", nameof(buffer));
        }

        this.buffer = buffer;
    }

    public long Length => (long)Rows * Columns;

    /// <summary>The whole tensor, [Rows·Columns].</summary>
    public ArrayView<int> View => buffer.View.SubView(0, Length);

    /// <summary>Rows firstRow .. firstRow + rowCount − 1, [rowCount·Columns].</summary>
    public ArrayView<int> RowsView(int firstRow, int rowCount) => buffer.View.SubView((long)firstRow * Columns, (long)rowCount * Columns);

    public override void Dispose()
    {
        buffer.Dispose();
        base.Dispose();
    }
}
