using KernelSharp.Kernels.Norms;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Norms;

/// <summary>LayerNorm with bias (the indexer's k_norm) against the float64 reference, including an offset-heavy row.</summary>
public abstract class LayerNormTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 128, 128)]
    [InlineData(6, 128, 1)]
    [InlineData(5, 129, 128)]
    [InlineData(3, 1000, 128)]
    public void Matches_reference(int rows, int n, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(rows * 41 + n);
        float[] input = RandomTensors.Normal(random, (long)rows * n);
        for (int i = 0; i < n; i++)
        {
            input[i] += 50f; // a large common offset: a one-pass E[x²] − E[x]² variance would lose digits here
        }
        float[] weight = RandomTensors.Uniform(random, n, 2f);
        float[] bias = RandomTensors.Uniform(random, n);
        const float eps = 1e-6f;
        double[] expected = LayerNormReference.Normalize(input, weight, bias, rows, n, eps);

        using var x = Upload(input);
        using var w = Upload(weight);
        using var b = Upload(bias);
        using var y = Allocate<float>((long)rows * n);
        Launch(typeof(LayerNormKernels).GetMethod(nameof(LayerNormKernels.LayerNorm))!, Config(rows, 1, groupSize),
            x.View, w.View, b.View, y.View, rows, n, eps, groupSize);

        Tolerance.AssertClose(expected, Download(y), new Tolerance(2e-4, 5e-5), "layernorm output");
    }
}

public sealed class LayerNormTests_FastCpu(FastCpuBackend b) : LayerNormTests(b), IClassFixture<FastCpuBackend>;
public sealed class LayerNormTests_IlgpuCpu(IlgpuCpuBackend b) : LayerNormTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class LayerNormTests_Cuda(CudaBackend b) : LayerNormTests(b), IClassFixture<CudaBackend>;
public sealed class LayerNormTests_OpenCL(OpenCLBackend b) : LayerNormTests(b), IClassFixture<OpenCLBackend>;
