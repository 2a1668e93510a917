using System.Numerics.Tensors;
using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Norms;

/// <summary>
/// Host bodies of <see cref="RowParts"/>' 16-byte helpers for the generated CPU path (never compiled for a GPU).
/// </summary>
/// <remarks>
/// On the host the GPU bodies' <c>KsVector.LoadFloat4</c> goes through ILGPU's aligned view casts, which check their claim
/// with an assertion whose message is looked up under a lock on every call: a host profile of a 64-token prefill had
/// <c>RmsNormResidual</c> at 17% of the step, nearly all of it in that lock. Spans over the same memory need no cast. One
/// thread per row (group size 1, what the autotuner picks on the host) takes the row in vectorized passes; other
/// thread counts keep the GPU body's split of the elements.
/// </remarks>
public static class RowPartsCpu
{
    public static float StridedAddInPlaceSumOfSquaresCpu(ArrayView<float> input, ArrayView<float> residual, long start, int n, int thread, int threads)
    {
        Span<float> row = HostSpan.Of(residual, start, n);
        ReadOnlySpan<float> added = HostSpan.Of(input, start, n);
        if (threads == 1)
        {
            TensorPrimitives.Add(row, added, row);
            return TensorPrimitives.SumOfSquares(row);
        }
        float total = 0f;
        for (int i = thread; i < n; i += threads)
        {
            float v = row[i] + added[i];
            row[i] = v;
            total += v * v;
        }
        return total;
    }

    public static void StridedMultiplyScaleCpu(ArrayView<float> x, long start, ArrayView<float> weight, ArrayView<float> output,
        int n, float s, int thread, int threads) =>
        StridedMultiplyScaleCpu(x, start, weight, output, start, n, s, thread, threads);

    public static void StridedMultiplyScaleCpu(ArrayView<float> x, long start, ArrayView<float> weight, ArrayView<float> output, long target,
        int n, float s, int thread, int threads)
    {
        ReadOnlySpan<float> values = HostSpan.Of(x, start, n);
        ReadOnlySpan<float> gains = HostSpan.Of(weight, 0, n);
        Span<float> result = HostSpan.Of(output, target, n);
        if (threads == 1)
        {
            TensorPrimitives.Multiply(values, gains, result);
            TensorPrimitives.Multiply(result, s, result);
            return;
        }
        for (int i = thread; i < n; i += threads)
            result[i] = values[i] * gains[i] * s;
    }
}
