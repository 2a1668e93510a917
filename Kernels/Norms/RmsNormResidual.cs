using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Norms;

public static partial class RmsNormKernels
{
    /// <summary>
    /// residual ← residual + input, then output = RMSNorm(residual) · weight: the "h += sublayer(x); x = norm(h)"
    /// step of a pre-norm block in one pass over memory.
    /// </summary>
    [Kernel(Grid = "rows", GroupSize = "groupSize")]
    public static void RmsNormResidual(
        ArrayView<float> input,    // [rows, n] sublayer output to add
        ArrayView<float> residual, // [rows, n] updated in place
        ArrayView<float> weight,   // [n]
        ArrayView<float> output,   // [rows, n]
        int rows,
        int n,
        float eps,
        [Constant(1, 256)] int groupSize)
    {
        int row = Grid.IdxX;
        int thread = Group.IdxX;
        long start = (long)row * n;
        // Each thread adds and squares its own elements, so no barrier is needed before the reduction.
        float partial = RowParts.StridedAddInPlaceSumOfSquares(input, residual, start, n, thread, groupSize);
        float sumOfSquares = KsGroup.Sum(partial);
        float inverseRms = 1f / MathF.Sqrt(sumOfSquares / n + eps);
        if (groupSize == 1)
            KsVector.MultiplyScale(residual, start, weight, 0, output, start, n, inverseRms);
        else
            RowParts.StridedMultiplyScale(residual, start, weight, output, n, inverseRms, thread, groupSize);
    }
}
