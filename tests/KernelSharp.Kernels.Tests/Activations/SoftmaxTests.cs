using KernelSharp.Kernels.Activations;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Activations;

/// <summary>Row softmax against the float64 reference, with masked (−∞) entries and a fully masked row.</summary>
public abstract class SoftmaxTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 1, 256)]
    [InlineData(4, 300, 1)]
    [InlineData(4, 300, 256)]
    [InlineData(2, 5000, 256)]
    public void Matches_reference_with_masked_entries(int rows, int cols, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(rows * 97 + cols);
        float[] input = RandomTensors.Normal(random, (long)rows * cols, 5f);
        for (int i = 0; i < input.Length; i += 3)
        {
            if (i % cols != 0)
            {
                input[i] = float.NegativeInfinity; // a causal/sparsity mask
            }
        }
        if (rows > 1)
        {
            Array.Fill(input, float.NegativeInfinity, cols, cols); // row 1 fully masked → zeros
        }
        double[] expected = SoftmaxReference.Apply(input, rows, cols);

        using var x = Upload(input);
        using var y = Allocate<float>((long)rows * cols);
        Launch(typeof(SoftmaxKernels).GetMethod(nameof(SoftmaxKernels.Softmax))!, Config(rows, 1, groupSize),
            x.View, y.View, rows, cols, groupSize);

        Tolerance.AssertClose(expected, Download(y), new Tolerance(1e-4, 1e-7), "softmax output");
    }
}

public sealed class SoftmaxTests_FastCpu(FastCpuBackend b) : SoftmaxTests(b), IClassFixture<FastCpuBackend>;
public sealed class SoftmaxTests_IlgpuCpu(IlgpuCpuBackend b) : SoftmaxTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class SoftmaxTests_Cuda(CudaBackend b) : SoftmaxTests(b), IClassFixture<CudaBackend>;
public sealed class SoftmaxTests_OpenCL(OpenCLBackend b) : SoftmaxTests(b), IClassFixture<OpenCLBackend>;
