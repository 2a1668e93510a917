using KernelSharp.Kernels.Sampling;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Sampling;

/// <summary>
/// Temperature / top-k / top-p sampling against the sort-based reference for the same uniform numbers, plus the
/// properties that make it a sampler: top-k 1 is argmax, u → 0 and u → 1 pick the first and last kept tokens.
/// </summary>
public abstract class SampleTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(1, 0.7f, 0, 1f)]
    [InlineData(1, 0.7f, 50, 1f)]
    [InlineData(64, 0.7f, 50, 1f)]
    [InlineData(1, 1.0f, 0, 0.9f)]
    [InlineData(64, 1.3f, 0, 0.9f)]
    [InlineData(1, 0.8f, 40, 0.5f)]
    [InlineData(64, 0.8f, 40, 0.5f)]
    [InlineData(1, 0.8f, 2000, 0.95f)] // k larger than the row: top-k off
    public void Matches_reference_for_many_uniforms(int groupSize, float temperature, int topK, float topP)
    {
        RequireBackend();
        int rows = groupSize == 1 ? 24 : 3; // few groups: see GemvTests on the CPU accelerator
        const int vocab = 1500;
        var random = NewRandom(groupSize + topK * 3 + (int)(topP * 100));
        float[] logits = RandomTensors.Normal(random, rows * vocab, 3f);
        float[] uniforms = RandomTensors.Uniform(random, rows, 0.5f).Select(u => u + 0.5f).ToArray();
        int[] expected = Enumerable.Range(0, rows)
            .Select(r => SampleReference.Sample(logits.AsSpan(r * vocab, vocab), temperature, topK, topP, uniforms[r]))
            .ToArray();

        int[] actual = Run(logits, uniforms, rows, vocab, temperature, topK, topP, groupSize);

        Assert.Equal(expected, actual);
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(64)]
    public void Top_k_of_one_is_argmax_and_extreme_uniforms_pick_the_first_and_last_kept(int groupSize)
    {
        RequireBackend();
        const int rows = 3, vocab = 777;
        var random = NewRandom(groupSize);
        float[] logits = RandomTensors.Normal(random, rows * vocab, 2f);
        int[] argmax = ArgmaxReference.Argmax(logits, rows, vocab);

        Assert.Equal(argmax, Run(logits, [0.99f, 0.5f, 0f], rows, vocab, 1f, 1, 1f, groupSize));

        // Top-k 5: u = 0 gives the smallest kept index, u just below 1 the largest.
        int[] firstKept = new int[rows], lastKept = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            var row = logits.AsSpan(r * vocab, vocab).ToArray();
            float fifth = row.OrderByDescending(v => v).ElementAt(4);
            var kept = Enumerable.Range(0, vocab).Where(i => row[i] >= fifth).ToArray();
            firstKept[r] = kept.First();
            lastKept[r] = kept.Last();
        }
        Assert.Equal(firstKept, Run(logits, [0f, 0f, 0f], rows, vocab, 1f, 5, 1f, groupSize));
        Assert.Equal(lastKept, Run(logits, [0.99999f, 0.99999f, 0.99999f], rows, vocab, 1f, 5, 1f, groupSize));
    }

    private int[] Run(float[] logits, float[] uniforms, int rows, int vocab, float temperature, int topK, float topP, int groupSize)
    {
        using var l = Upload(logits);
        using var scratch = Allocate<float>(logits.Length);
        using var u = Upload(uniforms);
        using var y = Allocate<int>(rows);
        Launch(typeof(SampleKernels).GetMethod(nameof(SampleKernels.Sample))!, Config(rows, 1, groupSize),
            l.View, scratch.View, u.View, y.View, rows, vocab, temperature, topK, topP, groupSize);
        return Download(y);
    }
}

public sealed class SampleTests_FastCpu(FastCpuBackend b) : SampleTests(b), IClassFixture<FastCpuBackend>;
public sealed class SampleTests_IlgpuCpu(IlgpuCpuBackend b) : SampleTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class SampleTests_Cuda(CudaBackend b) : SampleTests(b), IClassFixture<CudaBackend>;
public sealed class SampleTests_OpenCL(OpenCLBackend b) : SampleTests(b), IClassFixture<OpenCLBackend>;
