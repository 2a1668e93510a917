using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Linear;

/// <summary>
/// Tiled GEMM in fp32, bf16 and fp8 against a float64 reference: edge tiles in m, n and k, a single token, and an
/// fp8 k crossing a 128 scale block.
/// </summary>
public abstract class GemmTests(BackendFixture backend) : BackendTestBase(backend)
{
    public static TheoryData<int, int, int, int> Shapes => new()
    {
        // m, n, k, groupSize — kept to a few 64×64 tiles for the CPU accelerator
        { 1, 1, 1, 256 },
        { 1, 1, 1, 1 },
        { 1, 70, 33, 256 },
        { 65, 3, 17, 256 },
        { 65, 3, 17, 1 },
        { 20, 66, 150, 256 },
        { 70, 130, 260, 1 },
        { 9, 68, 64, 1 }, // the CPU form's 4 × 4 register blocks with no column tail, and a ragged last block of tokens
    };

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void F32_matches_reference(int m, int n, int k, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(m * 1000 + n * 10 + k);
        float[] a = RandomTensors.Uniform(random, (long)m * k);
        float[] weight = RandomTensors.Uniform(random, (long)n * k);
        double[] expected = GemmReference.Multiply(a, m, k, LinearWeightsReference.Widen(weight), n);

        using var av = Upload(a);
        using var wv = Upload(weight);
        using var cv = Allocate<float>((long)m * n);
        Launch(typeof(GemmKernels).GetMethod(nameof(GemmKernels.Gemm))!, Config((n + 63) / 64, (m + 63) / 64, groupSize),
            av.View, new F32Rows(wv.View), cv.View, m, n, k, groupSize);

        Tolerance.AssertClose(expected, Download(cv), GemvTests.LinearTolerance(k), "gemm f32 output");
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Bf16_matches_reference(int m, int n, int k, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(m * 1001 + n * 10 + k);
        float[] a = RandomTensors.Uniform(random, (long)m * k);
        var (weight, _) = RandomTensors.Bf16(random, (long)n * k);
        double[] expected = GemmReference.Multiply(a, m, k, LinearWeightsReference.DecodeBf16(weight), n);

        using var av = Upload(a);
        using var wv = Upload(weight);
        using var cv = Allocate<float>((long)m * n);
        Launch(typeof(GemmKernels).GetMethod(nameof(GemmKernels.Gemm))!, Config((n + 63) / 64, (m + 63) / 64, groupSize),
            av.View, new Bf16Rows(wv.View), cv.View, m, n, k, groupSize);

        Tolerance.AssertClose(expected, Download(cv), GemvTests.LinearTolerance(k), "gemm bf16 output");
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Fp8_block_scaled_matches_reference(int m, int n, int k, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(m * 1002 + n * 10 + k);
        float[] a = RandomTensors.Uniform(random, (long)m * k);
        var (weight, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, n, k);
        double[] expected = GemmReference.Multiply(a, m, k, LinearWeightsReference.DequantizeFp8(weight, scaleInv, n, k), n);

        using var av = Upload(a);
        using var wv = Upload(weight);
        using var sv = Upload(scaleInv);
        using var cv = Allocate<float>((long)m * n);
        Launch(typeof(GemmKernels).GetMethod(nameof(GemmKernels.Gemm))!, Config((n + 63) / 64, (m + 63) / 64, groupSize),
            av.View, new Fp8BlockRows(wv.View, sv.View), cv.View, m, n, k, groupSize);

        Tolerance.AssertClose(expected, Download(cv), GemvTests.LinearTolerance(k), "gemm fp8 output");
    }
}

public sealed class GemmTests_FastCpu(FastCpuBackend b) : GemmTests(b), IClassFixture<FastCpuBackend>;
public sealed class GemmTests_IlgpuCpu(IlgpuCpuBackend b) : GemmTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class GemmTests_Cuda(CudaBackend b) : GemmTests(b), IClassFixture<CudaBackend>;
public sealed class GemmTests_OpenCL(OpenCLBackend b) : GemmTests(b), IClassFixture<OpenCLBackend>;
