using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Norms;

/// <summary>
/// One thread's share of a row operation in the norm kernels: thread t of g takes float4 chunks t, t+g, … when the
/// row starts 16-byte aligned (row length a multiple of 4), single elements otherwise. With g = 1, the whole row.
/// </summary>
public static class RowParts
{
    /// <summary>Whether element <paramref name="start"/> of the view sits on a 16-byte boundary, from the actual address
    /// (KsVector.IsAligned16), so a sub-view at any offset falls back to scalar loads instead of a misaligned vector access.</summary>
    private static bool Aligned16<T>(ArrayView<T> view, long start) where T : unmanaged =>
        KsVector.IsAligned16(view, start);

    public static float StridedSumOfSquares(ArrayView<float> x, long start, int n, int thread, int threads)
    {
        float total = 0f;
        int done = 0;
        if (Aligned16(x, start))
        {
            int quads = n / 4;
            for (int q = thread; q < quads; q += threads)
            {
                Float4 v = KsVector.LoadFloat4(x, start + 4L * q);
                total += Float4.Dot(v, v);
            }
            done = quads * 4;
        }
        for (int i = done + thread; i < n; i += threads)
            total += x[start + i] * x[start + i];
        return total;
    }

    public static float StridedSum(ArrayView<float> x, long start, int n, int thread, int threads)
    {
        float total = 0f;
        for (int i = thread; i < n; i += threads)
            total += x[start + i];
        return total;
    }

    /// <summary>Σ (x − mean)² over this thread's elements (the second pass of a two-pass variance).</summary>
    public static float StridedSquaredDeviation(ArrayView<float> x, long start, int n, float mean, int thread, int threads)
    {
        float total = 0f;
        for (int i = thread; i < n; i += threads)
        {
            float d = x[start + i] - mean;
            total += d * d;
        }
        return total;
    }

    /// <summary>residual[i] += input[i] for this thread's elements; returns Σ residual[i]² of the new values.</summary>
    [Intrinsic(CpuBody = nameof(RowPartsCpu.StridedAddInPlaceSumOfSquaresCpu))]
    public static float StridedAddInPlaceSumOfSquares(ArrayView<float> input, ArrayView<float> residual, long start, int n, int thread, int threads)
    {
        float total = 0f;
        int done = 0;
        if (Aligned16(input, start) && Aligned16(residual, start))
        {
            int quads = n / 4;
            for (int q = thread; q < quads; q += threads)
            {
                Float4 a = KsVector.LoadFloat4(input, start + 4L * q);
                Float4 r = KsVector.LoadFloat4(residual, start + 4L * q);
                var sum = new Float4(a.X + r.X, a.Y + r.Y, a.Z + r.Z, a.W + r.W);
                KsVector.StoreFloat4(residual, start + 4L * q, sum);
                total += Float4.Dot(sum, sum);
            }
            done = quads * 4;
        }
        for (int i = done + thread; i < n; i += threads)
        {
            float v = residual[start + i] + input[start + i];
            residual[start + i] = v;
            total += v * v;
        }
        return total;
    }

    /// <summary>output[i] = x[i] · w[i] · s for this thread's elements of the row (w is [n], shared by rows).</summary>
    [Intrinsic(CpuBody = nameof(RowPartsCpu.StridedMultiplyScaleCpu))]
    public static void StridedMultiplyScale(ArrayView<float> x, long start, ArrayView<float> weight, ArrayView<float> output,
        int n, float s, int thread, int threads) =>
        StridedMultiplyScale(x, start, weight, output, start, n, s, thread, threads);

    /// <summary>output[target + i] = x[start + i] · weight[i] · s for this thread's elements (a row written elsewhere than it was read).</summary>
    [Intrinsic(CpuBody = nameof(RowPartsCpu.StridedMultiplyScaleCpu))]
    public static void StridedMultiplyScale(ArrayView<float> x, long start, ArrayView<float> weight, ArrayView<float> output, long target,
        int n, float s, int thread, int threads)
    {
        int done = 0;
        if (Aligned16(x, start) && Aligned16(weight, 0) && Aligned16(output, target))
        {
            int quads = n / 4;
            for (int q = thread; q < quads; q += threads)
            {
                Float4 v = KsVector.LoadFloat4(x, start + 4L * q);
                Float4 g = KsVector.LoadFloat4(weight, 4L * q);
                KsVector.StoreFloat4(output, target + 4L * q, new Float4(v.X * g.X * s, v.Y * g.Y * s, v.Z * g.Z * s, v.W * g.W * s));
            }
            done = quads * 4;
        }
        for (int i = done + thread; i < n; i += threads)
            output[target + i] = x[start + i] * weight[i] * s;
    }
}
