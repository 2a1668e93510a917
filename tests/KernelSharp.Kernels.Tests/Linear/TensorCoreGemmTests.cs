using ILGPU;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Linear;

/// <summary>
/// The prompt GEMM on tensor cores (<see cref="TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/> over consecutive
/// rows, <see cref="BatchItems"/>; group tiles
/// 128×128 and 128×256, two to four stages; those over 48 KB on dynamic shared memory) against a float64 reference on
/// fresh random inputs. bf16 weights: whole tiles (the unchecked cp.async loader), edge tiles in m, n and k (the
/// per-chunk loader with zero fill), k not a multiple of 8 (element loads), odd n (element stores instead of 8-byte
/// pairs), many k stages (the stage rotation), sub-views off 16-byte boundaries. fp8 weights with block scales: scale
/// blocks crossed in n and k (a 128×256 tile spans two row blocks), byte loads, rows past n, every stage depth. The
/// output starts as NaN, so an element the kernel forgets to write fails.
/// </summary>
public abstract class TensorCoreGemmTests(BackendFixture backend) : BackendTestBase(backend)
{
    private static readonly (int M, int N, int K)[] ShapeList =
    [
        (1, 1, 1),
        (17, 9, 88),       // one partial tile, three k stages (the last partial), odd n: element stores
        (128, 256, 96),    // whole tiles (one or two groups), three whole stages: only the unchecked loader, 8-byte stores
        (130, 264, 72),    // whole and partial tiles side by side in m and n, a partial last stage
        (5, 130, 19),      // k not a multiple of 8: element loads with zero fill
        (256, 512, 1024),  // whole groups, 32 stages: the stage rotation many times over
        (300, 520, 1000),  // edges in every direction, 32 stages
    ];

    /// <summary>The (tileN, stages) pairs that fit 48 KB of static shared memory: 128×128 with three stages, 128×256 with two.</summary>
    private static readonly (int TileN, int Stages)[] StaticPairs = [(128, 3), (256, 2)];

    /// <summary>The other pairs: 128×128 with two stages (32 KB), the rest on dynamic shared memory (64, 72, 96 KB).</summary>
    private static readonly (int TileN, int Stages)[] OtherPairs = [(128, 2), (128, 4), (256, 3), (256, 4)];

    /// <summary>
    /// Every shape with the two static pairs; the other pairs on the shapes that turn the stage ring (a partial last
    /// stage, edges in every direction, 32 stages), where a pipeline-depth mistake would show.
    /// </summary>
    public static TheoryData<int, int, int, int, int> Shapes
    {
        get
        {
            var data = new TheoryData<int, int, int, int, int>();
            foreach (var (m, n, k) in ShapeList)
            {
                foreach (var (tileN, stages) in StaticPairs)
                    data.Add(m, n, k, tileN, stages);
                if ((m, n, k) is (17, 9, 88) or (130, 264, 72) or (300, 520, 1000))
                {
                    foreach (var (tileN, stages) in OtherPairs)
                        data.Add(m, n, k, tileN, stages);
                }
            }
            return data;
        }
    }

    public static TheoryData<int> TileWidths => new() { 128, 256 };

    private static readonly (int M, int N, int K)[] Fp8ShapeList =
    [
        (3, 7, 16),
        (20, 200, 160),   // n crosses a 128-row scale block, k a 128-column one; 16-byte fp8 loads
        (9, 33, 45),      // k not a multiple of 16: byte loads
        (128, 128, 96),   // one whole group, three whole stages
        (260, 384, 1024), // 3 × 3 (or 3 × 2) groups, 32 stages, 8 scale blocks along k
    ];

    /// <summary>Every fp8 shape with the two static pairs; the other pairs where n crosses scale blocks and on the long k.</summary>
    public static TheoryData<int, int, int, int, int> Fp8Shapes
    {
        get
        {
            var data = new TheoryData<int, int, int, int, int>();
            foreach (var (m, n, k) in Fp8ShapeList)
            {
                foreach (var (tileN, stages) in StaticPairs)
                    data.Add(m, n, k, tileN, stages);
                if ((m, n, k) is (20, 200, 160) or (260, 384, 1024))
                {
                    foreach (var (tileN, stages) in OtherPairs)
                        data.Add(m, n, k, tileN, stages);
                }
            }
            return data;
        }
    }

    /// <summary>
    /// Whether this backend runs a shape: the ILGPU CPU accelerator emulates every lane and shuffle of the portable
    /// mma (~25 s per group and three stages on 2 cores), so it takes three small cases;
    /// the generated CPU path and CUDA take all.
    /// </summary>
    protected virtual bool RunsShape(int m, int n, int k, int tileN, int stages) => true;

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Bf16_matches_reference(int m, int n, int k, int tileN, int stages)
    {
        RequireBackend();
        SkipIfTooSlow(m, n, k, tileN, stages);
        var random = NewRandom(m * 7919 + n * 31 + k + 1);
        var (a, _) = RandomTensors.Bf16(random, (long)m * k);
        var (weight, _) = RandomTensors.Bf16(random, (long)n * k);
        double[] expected = TensorCoreGemmReference.MultiplyBf16(a, weight, m, n, k);

        using var av = Upload(a);
        using var wv = Upload(weight);
        using var cv = Upload(Poison(m * n));
        Run(av.View, new Bf16Rows(wv.View), cv.View, m, n, k, tileN, stages);

        // bf16 products are exact in fp32: only the fp32 summation order differs from the reference.
        Tolerance.AssertClose(expected, Download(cv, (long)m * n), new Tolerance(1e-4, 2e-6 * k), "tensor-core gemm bf16 output");
    }

    [SkippableTheory]
    [MemberData(nameof(Fp8Shapes))]
    public void Fp8_block_scaled_matches_reference(int m, int n, int k, int tileN, int stages)
    {
        RequireBackend();
        SkipIfTooSlow(m, n, k, -tileN, stages);
        var random = NewRandom(m * 7907 + n * 37 + k + 1);
        var (a, _) = RandomTensors.Bf16(random, (long)m * k);
        var (weight, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, n, k);
        // Weights rounded to bf16 as the kernel does (TensorCoreGemmConversionTests checks that conversion exactly).
        double[] expected = TensorCoreGemmReference.MultiplyFp8RoundedToBf16(a, weight, scaleInv, m, n, k);

        using var av = Upload(a);
        using var wv = Upload(weight);
        using var sv = Upload(scaleInv);
        using var cv = Upload(Poison(m * n));
        Run(av.View, new Fp8BlockRows(wv.View, sv.View), cv.View, m, n, k, tileN, stages);

        Tolerance.AssertClose(expected, Download(cv, (long)m * n), new Tolerance(1e-4, 2e-6 * k), "tensor-core gemm fp8 output");
    }

    [SkippableTheory]
    [MemberData(nameof(TileWidths))]
    public void Bf16_sub_views_off_16_byte_boundaries_match_reference(int tileN)
    {
        const int m = 17, n = 10, k = 40; // k a multiple of 8 and n even, but every view starts one element in
        int stages = tileN == 128 ? 3 : 2;
        RequireBackend();
        SkipIfTooSlow(m, n, k, tileN, stages);
        var random = NewRandom(5151);
        var (a, _) = RandomTensors.Bf16(random, 1L + m * k);
        var (weight, _) = RandomTensors.Bf16(random, 1L + n * k);
        double[] expected = TensorCoreGemmReference.MultiplyBf16(a[1..], weight[1..], m, n, k);

        using var av = Upload(a);
        using var wv = Upload(weight);
        using var cv = Upload(Poison(m * n + 1));
        Run(av.View.SubView(1, m * k), new Bf16Rows(wv.View.SubView(1, n * k)), cv.View.SubView(1, m * n), m, n, k, tileN, stages);

        var actual = Download(cv, (long)m * n + 1);
        Assert.True(float.IsNaN(actual[0]), "the element before the output sub-view was written");
        Tolerance.AssertClose(expected, actual[1..], new Tolerance(1e-4, 2e-6 * k), "tensor-core gemm bf16 output (sub-views)");
    }

    private void Run<TWeights>(ArrayView<ushort> a, TWeights weights, ArrayView<float> c, int m, int n, int k, int tileN, int stages)
        where TWeights : struct, ITensorCoreRows<TWeights>
        => Launch(typeof(TensorCoreGemmKernels).GetMethod(nameof(TensorCoreGemmKernels.TensorCoreGemm))!,
            Config((m + 127) / 128, (n + tileN - 1) / tileN, TensorCoreGemmWideTiles.Threads(tileN)), a, weights, new BatchItems(m), c, (m + 127) / 128, n, k, tileN, stages);

    /// <summary>Skips a case this backend does not run (<see cref="RunsShape"/>; a negative tileN marks fp8 weights).</summary>
    private void SkipIfTooSlow(int m, int n, int k, int tileN, int stages)
        => Skip.IfNot(RunsShape(m, n, k, tileN, stages),
            $"{m}×{n}×{k} ({(tileN < 0 ? "fp8, " : "")}tileN {Math.Abs(tileN)}, {stages} stages) is too slow on {Backend}; the other backends cover it");

    private static float[] Poison(int count) => Enumerable.Repeat(float.NaN, Math.Max(1, count)).ToArray();
}

public sealed class TensorCoreGemmTests_FastCpu(FastCpuBackend b) : TensorCoreGemmTests(b), IClassFixture<FastCpuBackend>;
public sealed class TensorCoreGemmTests_IlgpuCpu(IlgpuCpuBackend b) : TensorCoreGemmTests(b), IClassFixture<IlgpuCpuBackend>
{
    // Per group tile one case: 256 a whole group (8 warps, the unchecked loader, 8-byte stores, three k tiles in two
    // buffers); 128 a partial group over three stages (the per-chunk loader with zero fill, element stores); the
    // misaligned sub-views with the smaller group; fp8 (negative tileN here) with byte loads over three stages, and the
    // 128×256 tile across two row blocks of scales with 16-byte loads.
    protected override bool RunsShape(int m, int n, int k, int tileN, int stages)
        => (m, n, k, tileN, stages) is (128, 256, 96, 256, 2) or (17, 9, 88, 128, 3) or (17, 10, 40, 128, 3) or (9, 33, 45, -128, 3)
            or (20, 200, 160, -256, 2);
}
public sealed class TensorCoreGemmTests_Cuda(CudaBackend b) : TensorCoreGemmTests(b), IClassFixture<CudaBackend>;
