using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Norms;

/// <summary>
/// LayerNorm with weight and bias per row in fp32 (the lightning indexer's key norm, n = index_head_dim):
/// y = (x − mean) / sqrt(var + eps) · w + b, biased variance computed in a second pass over the row (no
/// E[x²] − E[x]² cancellation). One group per row.
/// </summary>
public static partial class LayerNormKernels
{
    [Kernel(Grid = "rows", GroupSize = "groupSize")]
    public static void LayerNorm(
        ArrayView<float> input,  // [rows, n]
        ArrayView<float> weight, // [n]
        ArrayView<float> bias,   // [n]
        ArrayView<float> output, // [rows, n] (may be the input)
        int rows,
        int n,
        float eps,
        [Constant(1, 128)] int groupSize)
    {
        int row = Grid.IdxX;
        int thread = Group.IdxX;
        long start = (long)row * n;
        float sum = KsGroup.Sum(RowParts.StridedSum(input, start, n, thread, groupSize));
        float mean = sum / n;
        float squaredDeviation = KsGroup.Sum(RowParts.StridedSquaredDeviation(input, start, n, mean, thread, groupSize));
        float inverseStd = 1f / MathF.Sqrt(squaredDeviation / n + eps);
        for (int i = thread; i < n; i += groupSize)
            output[start + i] = (input[start + i] - mean) * inverseStd * weight[i] + bias[i];
    }
}
