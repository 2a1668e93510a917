using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Activations;

/// <summary>
/// Row softmax in fp32, max-subtracted: p_i = e^(x_i − max) / Σ_j e^(x_j − max). A fully masked row (all −∞)
/// gives zeros rather than NaN. One group per row; three passes (max, exponentiate and sum, normalize).
/// </summary>
public static partial class SoftmaxKernels
{
    [Kernel(Grid = "rows", GroupSize = "groupSize")]
    public static void Softmax(
        ArrayView<float> input,  // [rows, cols]
        ArrayView<float> output, // [rows, cols] (may be the input)
        int rows,
        int cols,
        [Constant(1, 256)] int groupSize)
    {
        int row = Grid.IdxX;
        int thread = Group.IdxX;
        long start = (long)row * cols;
        float localMax = groupSize == 1
            ? KsVector.Max(input, start, cols)
            : StridedMax(input, start, cols, thread, groupSize);
        float max = KsGroup.Max(localMax);
        // Every element of the row is −∞: exp(−∞ − (−∞)) would be NaN; subtract 0 instead and get zeros.
        float shift = max == float.NegativeInfinity ? 0f : max;
        float localSum = 0f;
        for (int i = thread; i < cols; i += groupSize)
        {
            float e = MathF.Exp(input[start + i] - shift);
            output[start + i] = e;
            localSum += e;
        }
        float sum = KsGroup.Sum(localSum);
        float inverse = sum > 0f ? 1f / sum : 0f;
        if (groupSize == 1)
            KsVector.Scale(output, start, output, start, cols, inverse);
        else
            for (int i = thread; i < cols; i += groupSize)
                output[start + i] *= inverse;
    }

    private static float StridedMax(ArrayView<float> x, long start, int n, int thread, int threads)
    {
        float best = float.NegativeInfinity;
        for (int i = thread; i < n; i += threads)
            best = MathF.Max(best, x[start + i]);
        return best;
    }
}
