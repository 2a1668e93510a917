using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Tests.Reference;

/// <summary>A tensor of the fp32 reference backend: a plain row-major host array [Rows × Columns].</summary>
internal sealed class CpuTensor : Tensor
{
    public CpuTensor(float[] values, int rows, int columns)
        : base(rows, columns)
    {
        if (values.LongLength != (long)rows * columns)
        {
            throw new ArgumentException($"expected {rows}×{columns} values, got {values.LongLength}", nameof(values));
        }

        Values = values;
    }

    public float[] Values { get; }

    /// <summary>Row r as a span [Columns].</summary>
    public Span<float> Row(int r) => Values.AsSpan(r * Columns, Columns);
}

/// <summary>An index tensor of the fp32 reference backend: a row-major host array [Rows × Columns].</summary>
internal sealed class CpuIndexTensor : IndexTensor
{
    public CpuIndexTensor(int[] values, int rows, int columns)
        : base(rows, columns)
    {
        if (values.LongLength != (long)rows * columns)
        {
            throw new ArgumentException($"expected {rows}×{columns} values, got {values.LongLength}", nameof(values));
        }

        Values = values;
    }

    public int[] Values { get; }

    public Span<int> Row(int r) => Values.AsSpan(r * Columns, Columns);
}
