using KernelSharp.Dsl;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Linear;

/// <summary>
/// <see cref="TensorCoreGemmKernels.WidenFp8WeightsToBf16"/> against exact e4m3 decoding times the block scale, rounded
/// to bf16: whole 16-byte runs (k a multiple of 16), element runs with a partial last run (k = 45, 130), scale blocks
/// crossed in n and k, and a weight view that starts one byte in (element runs). Every output element must equal the
/// reference's bits; the output starts as a pattern the kernel cannot produce by accident where it writes nothing.
/// </summary>
public abstract class WidenFp8WeightsTests(BackendFixture backend) : BackendTestBase(backend)
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        // n, k, offset of the weight view
        { 1, 16, 0 },
        { 200, 160, 0 },  // n crosses a 128-row scale block, k a 128-column one; 16-byte runs
        { 9, 45, 0 },     // k not a multiple of 16: element runs, a partial last one
        { 130, 130, 0 },
        { 20, 272, 1 },   // the weight starts one byte into its buffer: element runs
    };

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Widened_weights_equal_exact_decoding_rounded_to_bf16(int n, int k, int offset)
    {
        RequireBackend();
        var random = NewRandom(n * 131 + k * 7 + offset);
        var (weight, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, n, k);
        ushort[] expected = LinearWeightsReference.DequantizeFp8(weight, scaleInv, n, k).Select(w => Bf16.FromFloat((float)w)).ToArray();

        using var wv = Upload(new byte[offset].Concat(weight).ToArray());
        using var sv = Upload(scaleInv);
        using var tv = Upload(Enumerable.Repeat((ushort)0xFFFF, n * k).ToArray()); // a NaN pattern: unwritten elements show
        Launch(typeof(TensorCoreGemmKernels).GetMethod(nameof(TensorCoreGemmKernels.WidenFp8WeightsToBf16))!,
            Config((int)(((long)n * ((k + 15) / 16) + 255) / 256), 1, 256), wv.View.SubView(offset, (long)n * k), sv.View, tv.View, n, k);

        Assert.Equal(expected, Download(tv, (long)n * k));
    }
}

public sealed class WidenFp8WeightsTests_FastCpu(FastCpuBackend b) : WidenFp8WeightsTests(b), IClassFixture<FastCpuBackend>;
public sealed class WidenFp8WeightsTests_IlgpuCpu(IlgpuCpuBackend b) : WidenFp8WeightsTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class WidenFp8WeightsTests_Cuda(CudaBackend b) : WidenFp8WeightsTests(b), IClassFixture<CudaBackend>;
public sealed class WidenFp8WeightsTests_OpenCL(OpenCLBackend b) : WidenFp8WeightsTests(b), IClassFixture<OpenCLBackend>;
