using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Linear;

/// <summary>
/// Tensor-core GEMM (bf16 A, bf16 or block-scaled fp8 W, fp32 C) against a float64 reference on fresh random inputs:
/// edge tiles in m, n and k, k not a multiple of 8 (element-load fallback), several k stages (double buffering),
/// three stages and more (the stage rotation), an fp8 k crossing a 128 scale block and n crossing a 128-row scale block. The output starts as NaN, so an
/// element the kernel forgets to write fails. Shapes stay small: the ILGPU CPU accelerator emulates every lane.
/// </summary>
public abstract class TensorCoreGemmTests(BackendFixture backend) : BackendTestBase(backend)
{
    public static TheoryData<int, int, int> Bf16Shapes => new()
    {
        // m, n, k
        { 1, 1, 1 },
        { 17, 9, 40 },     // one partial tile, k = 32 + a partial stage, cp.async path
        { 17, 9, 88 },     // three k stages: every stage buffer used, the last one partial
        { 130, 136, 72 },  // 2 × 2 groups, three k stages
        { 5, 130, 19 },    // k not a multiple of 8: element loads with zero fill
        { 300, 520, 1000 }, // 3 × 5 groups, 32 stages: the stage rotation many times over (real PTX path on CUDA)
    };

    public static TheoryData<int, int, int> Fp8Shapes => new()
    {
        { 3, 7, 16 },
        { 20, 200, 160 },  // n crosses a 128-row scale block, k a 128-column one; 16-byte fp8 loads
        { 9, 33, 45 },     // k not a multiple of 16: byte loads
        { 260, 384, 1024 }, // 3 × 3 groups, 32 stages, 8 scale blocks along k
    };

    /// <summary>
    /// Whether this backend runs a shape: the ILGPU CPU accelerator emulates every lane and every shuffle of the
    /// portable mma (15-30 s per shape on 2 cores), so it takes one shape per format; the generated CPU path and CUDA
    /// take all.
    /// </summary>
    protected virtual bool RunsShape(int m, int n, int k) => true;

    [SkippableTheory]
    [MemberData(nameof(Bf16Shapes))]
    public void Bf16_matches_reference(int m, int n, int k)
    {
        RequireBackend();
        SkipIfTooSlow(m, n, k);
        var random = NewRandom(m * 7919 + n * 31 + k);
        var (a, _) = RandomTensors.Bf16(random, (long)m * k);
        var (weight, _) = RandomTensors.Bf16(random, (long)n * k);
        double[] expected = TensorCoreGemmReference.MultiplyBf16(a, weight, m, n, k);

        using var av = Upload(a);
        using var wv = Upload(weight);
        using var cv = Upload(Poison(m * n));
        Launch(typeof(TensorCoreGemmKernels).GetMethod(nameof(TensorCoreGemmKernels.TensorCoreGemmBf16))!,
            Config((m + 127) / 128, (n + 127) / 128, 256), av.View, wv.View, cv.View, m, n, k);

        // bf16 products are exact in fp32: only the fp32 summation order differs from the reference.
        Tolerance.AssertClose(expected, Download(cv, (long)m * n), new Tolerance(1e-4, 2e-6 * k), "tensor-core gemm bf16 output");
    }

    [SkippableFact]
    public void Bf16_sub_views_off_16_byte_boundaries_match_reference()
    {
        const int m = 17, n = 9, k = 40; // k a multiple of 8, but the views start one element in: no cp.async allowed
        RequireBackend();
        SkipIfTooSlow(m, n, k);
        var random = NewRandom(5150);
        var (a, _) = RandomTensors.Bf16(random, 1L + m * k);
        var (weight, _) = RandomTensors.Bf16(random, 1L + n * k);
        double[] expected = TensorCoreGemmReference.MultiplyBf16(a[1..], weight[1..], m, n, k);

        using var av = Upload(a);
        using var wv = Upload(weight);
        using var cv = Upload(Poison(m * n));
        Launch(typeof(TensorCoreGemmKernels).GetMethod(nameof(TensorCoreGemmKernels.TensorCoreGemmBf16))!,
            Config((m + 127) / 128, (n + 127) / 128, 256), av.View.SubView(1, m * k), wv.View.SubView(1, n * k), cv.View, m, n, k);

        Tolerance.AssertClose(expected, Download(cv, (long)m * n), new Tolerance(1e-4, 2e-6 * k), "tensor-core gemm bf16 output (sub-views)");
    }

    [SkippableTheory]
    [MemberData(nameof(Fp8Shapes))]
    public void Fp8_block_scaled_matches_reference(int m, int n, int k)
    {
        RequireBackend();
        SkipIfTooSlow(m, n, k);
        var random = NewRandom(m * 7907 + n * 37 + k);
        var (a, _) = RandomTensors.Bf16(random, (long)m * k);
        var (weight, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, n, k);
        // Weights rounded to bf16 as the kernel does (TensorCoreGemmConversionTests checks that conversion exactly).
        double[] expected = TensorCoreGemmReference.MultiplyFp8RoundedToBf16(a, weight, scaleInv, m, n, k);

        using var av = Upload(a);
        using var wv = Upload(weight);
        using var sv = Upload(scaleInv);
        using var cv = Upload(Poison(m * n));
        Launch(typeof(TensorCoreGemmKernels).GetMethod(nameof(TensorCoreGemmKernels.TensorCoreGemmFp8))!,
            Config((m + 127) / 128, (n + 127) / 128, 256), av.View, wv.View, sv.View, cv.View, m, n, k);

        Tolerance.AssertClose(expected, Download(cv, (long)m * n), new Tolerance(1e-4, 2e-6 * k), "tensor-core gemm fp8 output");
    }

    private void SkipIfTooSlow(int m, int n, int k)
        => Skip.IfNot(RunsShape(m, n, k), $"{m}×{n}×{k} is too slow on {Backend}; the other backends cover it");

    private static float[] Poison(int count) => Enumerable.Repeat(float.NaN, Math.Max(1, count)).ToArray();
}

public sealed class TensorCoreGemmTests_FastCpu(FastCpuBackend b) : TensorCoreGemmTests(b), IClassFixture<FastCpuBackend>;
public sealed class TensorCoreGemmTests_IlgpuCpu(IlgpuCpuBackend b) : TensorCoreGemmTests(b), IClassFixture<IlgpuCpuBackend>
{
    // Three k stages with a partial one (the stage rotation, cp.async and zero fill), and the fp8 byte-load fallback.
    protected override bool RunsShape(int m, int n, int k) => (m, n, k) is (17, 9, 88) or (9, 33, 45);
}
public sealed class TensorCoreGemmTests_Cuda(CudaBackend b) : TensorCoreGemmTests(b), IClassFixture<CudaBackend>;
