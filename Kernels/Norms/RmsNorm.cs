using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Norms;

/// <summary>
/// RMSNorm per row in fp32: y = w · x / sqrt(mean(x²) + eps), optionally fused with the residual add that precedes
/// every norm of a pre-norm transformer block. One group per row.
/// </summary>
/// <remarks>
/// <c>groupSize</c> 1: one thread per row using <see cref="KsVector.SumOfSquares"/> and
/// <see cref="KsVector.MultiplyScale"/> (TensorPrimitives on the CPU path). 256: the GPU form, threads striding
/// over the row with 16-byte accesses when the row length allows, one group reduction.
/// </remarks>
public static partial class RmsNormKernels
{
    /// <summary>output = RMSNorm(input) · weight.</summary>
    [Kernel(Grid = "rows", GroupSize = "groupSize")]
    public static void RmsNorm(
        ArrayView<float> input,  // [rows, n]
        ArrayView<float> weight, // [n]
        ArrayView<float> output, // [rows, n] (may be the input)
        int rows,
        int n,
        float eps,
        [Constant(1, 256)] int groupSize)
    {
        int row = Grid.IdxX;
        int thread = Group.IdxX;
        long start = (long)row * n;
        float partial = groupSize == 1
            ? KsVector.SumOfSquares(input, start, n)
            : RowParts.StridedSumOfSquares(input, start, n, thread, groupSize);
        float sumOfSquares = KsGroup.Sum(partial);
        float inverseRms = 1f / MathF.Sqrt(sumOfSquares / n + eps);
        if (groupSize == 1)
            KsVector.MultiplyScale(input, start, weight, 0, output, start, n, inverseRms);
        else
            RowParts.StridedMultiplyScale(input, start, weight, output, n, inverseRms, thread, groupSize);
    }
}
