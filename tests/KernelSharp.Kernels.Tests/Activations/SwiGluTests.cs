using KernelSharp.Kernels.Activations;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Activations;

/// <summary>SwiGLU on separate gate/up tensors and on a fused gate ‖ up row, large magnitudes included.</summary>
public abstract class SwiGluTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(1000)]
    public void Split_matches_reference(int count)
    {
        RequireBackend();
        var random = NewRandom(count);
        float[] gate = RandomTensors.Uniform(random, count, 30f); // e^30 and e^-30: the overflow side of silu
        float[] up = RandomTensors.Normal(random, count);
        double[] expected = SwiGluReference.Apply(gate, up);

        using var g = Upload(gate);
        using var u = Upload(up);
        using var y = Allocate<float>(count);
        Launch(typeof(SwiGluKernels).GetMethod(nameof(SwiGluKernels.SwiGlu))!, Config((count + 255) / 256, 1, 256),
            g.View, u.View, y.View, count);

        Tolerance.AssertClose(expected, Download(y), Tolerance.Fp32, "swiglu output");
    }

    [SkippableTheory]
    [InlineData(1, 1)]
    [InlineData(3, 100)]
    [InlineData(5, 513)]
    public void Fused_matches_reference(int rows, int inner)
    {
        RequireBackend();
        var random = NewRandom(rows * 1000 + inner);
        float[] gateUp = RandomTensors.Normal(random, 2L * rows * inner, 4f);
        double[] expected = SwiGluReference.ApplyFused(gateUp, rows, inner);

        using var gu = Upload(gateUp);
        using var y = Allocate<float>((long)rows * inner);
        Launch(typeof(SwiGluKernels).GetMethod(nameof(SwiGluKernels.SwiGluFused))!, Config((rows * inner + 255) / 256, 1, 256),
            gu.View, y.View, rows, inner);

        Tolerance.AssertClose(expected, Download(y), Tolerance.Fp32, "fused swiglu output");
    }
}

public sealed class SwiGluTests_FastCpu(FastCpuBackend b) : SwiGluTests(b), IClassFixture<FastCpuBackend>;
public sealed class SwiGluTests_IlgpuCpu(IlgpuCpuBackend b) : SwiGluTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class SwiGluTests_Cuda(CudaBackend b) : SwiGluTests(b), IClassFixture<CudaBackend>;
public sealed class SwiGluTests_OpenCL(OpenCLBackend b) : SwiGluTests(b), IClassFixture<OpenCLBackend>;
