using KernelSharp.Kernels.Sampling;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Sampling;

/// <summary>Argmax over the vocabulary: random rows, ties (first index wins), NaN ignored, all −∞ → 0.</summary>
public abstract class ArgmaxTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 1000, 1)]
    [InlineData(3, 1000, 256)]
    [InlineData(1, 129280, 256)] // DeepSeek's vocabulary
    public void Matches_reference(int rows, int vocab, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(rows + vocab);
        float[] logits = RandomTensors.Normal(random, (long)rows * vocab, 4f);
        Check(logits, rows, vocab, groupSize);
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(256)]
    public void Ties_go_to_the_first_index_and_nan_is_ignored(int groupSize)
    {
        RequireBackend();
        const int vocab = 700;
        float[] logits = new float[4 * vocab];
        Array.Fill(logits, -3f);
        logits[0 * vocab + 650] = 2f;        // row 0: a tie, first at 300
        logits[0 * vocab + 300] = 2f;
        logits[1 * vocab + 5] = float.NaN;   // row 1: NaN beside the real maximum
        logits[1 * vocab + 400] = 1f;
        Array.Fill(logits, float.NegativeInfinity, 2 * vocab, vocab); // row 2: nothing beats −∞
        Array.Fill(logits, 7f, 3 * vocab, vocab);                     // row 3: every value equal
        var expected = ArgmaxReference.Argmax(logits, 4, vocab);
        Assert.Equal([300, 400, 0, 0], expected);
        Check(logits, 4, vocab, groupSize);
    }

    private void Check(float[] logits, int rows, int vocab, int groupSize)
    {
        int[] expected = ArgmaxReference.Argmax(logits, rows, vocab);
        using var l = Upload(logits);
        using var y = Allocate<int>(rows);
        Launch(typeof(ArgmaxKernels).GetMethod(nameof(ArgmaxKernels.Argmax))!, Config(rows, 1, groupSize),
            l.View, y.View, rows, vocab, groupSize);
        Assert.Equal(expected, Download(y));
    }
}

public sealed class ArgmaxTests_FastCpu(FastCpuBackend b) : ArgmaxTests(b), IClassFixture<FastCpuBackend>;
public sealed class ArgmaxTests_IlgpuCpu(IlgpuCpuBackend b) : ArgmaxTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class ArgmaxTests_Cuda(CudaBackend b) : ArgmaxTests(b), IClassFixture<CudaBackend>;
public sealed class ArgmaxTests_OpenCL(OpenCLBackend b) : ArgmaxTests(b), IClassFixture<OpenCLBackend>;
