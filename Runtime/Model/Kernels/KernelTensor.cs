using ILGPU;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// A tensor of the kernel backend: a row-major fp32 device buffer [Rows × Columns], or a column window of a buffer
/// shared with other windows (<see cref="Windows"/>: the MLA latent and rope-key caches, laid side by side in one
/// [maxContext, L+R] buffer that the attention kernels read as it is). Only a few ops accept windows (WriteRows,
/// Download, MLA attention); <see cref="View"/> refuses them.
/// </summary>
internal sealed class KernelTensor : Tensor
{
    private readonly DeviceBuffer<float> buffer; // [max(1, Rows·Columns)], or for a window the shared buffer [Rows·RowStride]
    private readonly SharedBuffer? shared;       // null unless this tensor is a window
    private bool disposed;

    public KernelTensor(DeviceBuffer<float> buffer, int rows, int columns)
        : this(buffer, rows, columns, columns, 0, null)
    {
    }

    private KernelTensor(DeviceBuffer<float> buffer, int rows, int columns, int rowStride, int columnOffset, SharedBuffer? shared)
        : base(rows, columns)
    {
        if (buffer.Length < (long)rows * rowStride)
        {
            throw new ArgumentException($"a buffer of {buffer.Length} floats cannot hold [{rows}, {rowStride}]", nameof(buffer));
        }

        this.buffer = buffer;
        this.shared = shared;
        RowStride = rowStride;
        ColumnOffset = columnOffset;
    }

    /// <summary>Floats from one row to the next in <see cref="StorageView"/> (= Columns unless a window).</summary>
    public int RowStride { get; }

    /// <summary>Where column 0 sits within a row of <see cref="StorageView"/> (0 unless a window).</summary>
    public int ColumnOffset { get; }

    public bool IsWindow => shared is not null;

    /// <summary>The whole tensor, [Rows·Columns]; not defined for a window (its rows are not contiguous).</summary>
    public ArrayView<float> View => IsWindow
        ? throw new InvalidOperationException($"tensor {this} is a column window of a shared cache buffer and has no contiguous view")
        : buffer.View.SubView(0, Length);

    /// <summary>The underlying buffer, [Rows·RowStride]; element (r, c) is at <see cref="StorageIndex"/>(r, c).</summary>
    public ArrayView<float> StorageView => buffer.View.SubView(0, (long)Rows * RowStride);

    /// <summary>Rows firstRow .. firstRow + rowCount − 1, [rowCount·Columns]; not defined for a window.</summary>
    public ArrayView<float> RowsView(int firstRow, int rowCount) => View.SubView((long)firstRow * Columns, (long)rowCount * Columns);

    /// <summary>Index of element (row, column) in <see cref="StorageView"/>.</summary>
    public long StorageIndex(int row, int column) => (long)row * RowStride + ColumnOffset + column;

    /// <summary>
    /// Windows over one buffer [rows, Σ widths]: window i is columns [Σ_{j&lt;i} widths_j, … + widths_i) of every row.
    /// The buffer is freed when the last window is disposed.
    /// </summary>
    public static KernelTensor[] Windows(DeviceBuffer<float> buffer, int rows, params int[] widths)
    {
        var stride = widths.Sum();
        var owner = new SharedBuffer(buffer, widths.Length);
        var windows = new KernelTensor[widths.Length];
        var offset = 0;
        for (var i = 0; i < widths.Length; i++)
        {
            windows[i] = new KernelTensor(buffer, rows, widths[i], stride, offset, owner);
            offset += widths[i];
        }

        return windows;
    }

    /// <summary>True when <paramref name="right"/> continues <paramref name="left"/> column by column in one buffer whose rows
    /// hold nothing else, i.e. left's <see cref="StorageView"/> is the [Rows, left.Columns + right.Columns] concatenation.</summary>
    public static bool AreSideBySide(KernelTensor left, KernelTensor right) =>
        ReferenceEquals(left.buffer, right.buffer) && left.Rows == right.Rows && left.ColumnOffset == 0
        && right.ColumnOffset == left.Columns && left.RowStride == left.Columns + right.Columns && right.RowStride == left.RowStride;

    public override void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (shared is null)
        {
            buffer.Dispose();
        }
        else
        {
            shared.Release();
        }

        base.Dispose();
    }

    /// <summary>A buffer several windows use: disposed with the last of them.</summary>
    private sealed class SharedBuffer(DeviceBuffer<float> buffer, int users)
    {
        private int remaining = users;

        public void Release()
        {
            if (Interlocked.Decrement(ref remaining) == 0)
            {
                buffer.Dispose();
            }
        }
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
