using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using KernelSharp.Kernels.Tests.Invariants;
using KernelSharp.Kernels.TopK;
using Xunit;

namespace KernelSharp.Kernels.Tests.TopK;

/// <summary>
/// <see cref="TopKKernels.TopKSelect"/> against <see cref="TopKSelectReference"/>. The kernel's tie rule is exact
/// (score descending, then index ascending), so on identical scores the selections must be identical, ties included.
/// </summary>
public abstract class TopKSelectTests(BackendFixture backend) : SparseKernelTestBase(backend)
{
    [SkippableTheory]
    [InlineData(3, 1000, 37, 256)]     // k not a power of two, length not a multiple of the group
    [InlineData(2, 4099, 2048, 256)]   // DeepSeek's k
    [InlineData(1, 6000, 5000, 256)]   // k beyond 2048
    [InlineData(2, 50, 49, 256)]       // T = k + 1
    [InlineData(2, 50, 50, 256)]       // k = T: everything
    [InlineData(2, 50, 51, 256)]       // k > T: everything, count = T
    [InlineData(1, 1, 1, 256)]         // a single key
    [InlineData(4, 300, 0, 256)]       // k = 0 selects nothing
    [InlineData(3, 777, 100, 1)]       // one thread per row (the CPU-friendly variant)
    [InlineData(2, 333, 64, 32)]
    public void Random_scores_match_reference(int rows, int length, int k, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(1000 + rows * 31 + length + k);
        float[] scores = RandomTensors.Normal(random, (long)rows * length);
        RunAndCompare(scores, rows, length, length, k, groupSize);
    }

    [SkippableFact]
    public void Heavy_ties_zeros_and_signed_zeros_follow_the_tie_rule()
    {
        RequireBackend();
        var random = NewRandom(7);
        int rows = 3;
        int length = 2000;
        // Few distinct values (ReLU sums give many exact zeros), both zero signs, so the k-th score is a big tie.
        float[] palette = [0f, -0f, 1f, 0.5f, -2f, 3f];
        var scores = new float[rows * length];
        for (int i = 0; i < scores.Length; i++)
        {
            scores[i] = palette[random.Next(palette.Length)];
        }
        RunAndCompare(scores, rows, length, length, 700, 256);
    }

    [SkippableFact]
    public void Causally_masked_rows_select_only_visible_keys()
    {
        RequireBackend();
        var random = NewRandom(11);
        int rows = 6;
        int length = 90;
        long stride = 96; // padded rows: the kernel must honour the row stride
        float[] scores = RandomTensors.Uniform(random, rows * stride);
        for (int s = 0; s < rows; s++)
        {
            // Query s of a prefill after 40 cached tokens sees keys 0..40+s; the rest is −∞ (and one NaN).
            for (int t = 41 + s; t < length; t++)
            {
                scores[s * stride + t] = t == 60 ? float.NaN : float.NegativeInfinity;
            }
        }
        RunAndCompare(scores, rows, length, stride, 43, 256);
    }

    /// <summary>
    /// A batched decode step over sequences of different lengths: one score matrix, keyCount columns = the longest
    /// sequence, each shorter row ending in −∞ where the paged indexer writes it. Each row gets min(k, its visible keys)
    /// of its own largest scores, ties (a palette of few values) to the lower index, nothing from its −∞ tail.
    /// </summary>
    [SkippableTheory]
    [InlineData(256)]
    [InlineData(1)]
    public void Rows_of_different_visible_lengths_select_within_their_own_length(int groupSize)
    {
        RequireBackend();
        var random = NewRandom(13);
        const int k = 64;
        int[] visible = [0, 1, k - 1, k, k + 1, 700, 3, 1000]; // keys each row sees; the longest row sets the width
        int rows = visible.Length;
        int length = visible.Max();
        float[] palette = [0f, 0.25f, 1f, 2f, -1f];
        var scores = new float[rows * length];
        for (int r = 0; r < rows; r++)
        {
            for (int t = 0; t < length; t++)
            {
                scores[r * length + t] = t < visible[r] ? palette[random.Next(palette.Length)] : float.NegativeInfinity;
            }
        }
        RunAndCompare(scores, rows, length, length, k, groupSize);

        // The reference's own reading of the contract, stated: min(k, visible) keys, all inside the row's length.
        int[][] expected = TopKSelectReference.Select(scores, rows, length, length, k);
        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(Math.Min(k, visible[r]), expected[r].Length);
            Assert.All(expected[r], t => Assert.True(t < visible[r], $"row {r} selected key {t} past its {visible[r]} visible keys"));
        }
    }

    [SkippableFact]
    public void Long_row_of_128k_scores()
    {
        RequireBackend();
        var random = NewRandom(5);
        int length = 131_073;
        float[] scores = RandomTensors.Normal(random, length);
        RunAndCompare(scores, 1, length, length, 2048, 256);
    }

    private void RunAndCompare(float[] scores, int rows, int length, long stride, int k, int groupSize)
    {
        using var scoreBuffer = Upload(scores);
        using var indices = Allocate<int>((long)rows * Math.Max(k, 1));
        using var counts = Allocate<int>(rows);
        TopKSelect(V(scoreBuffer), V(indices), V(counts), rows, length, stride, k, groupSize);
        int[] actualIndices = Download(indices);
        int[] actualCounts = Download(counts);
        int[][] expected = TopKSelectReference.Select(scores, rows, length, stride, k);
        for (int r = 0; r < rows; r++)
        {
            Assert.True(expected[r].Length == actualCounts[r], $"row {r}: count {actualCounts[r]}, expected {expected[r].Length}");
            AssertIdentical(expected[r], actualIndices.AsSpan(r * Math.Max(k, 1), expected[r].Length).ToArray(), $"row {r} indices");
        }
    }
}

public sealed class TopKSelectTests_FastCpu(FastCpuBackend b) : TopKSelectTests(b), IClassFixture<FastCpuBackend>;
public sealed class TopKSelectTests_IlgpuCpu(IlgpuCpuBackend b) : TopKSelectTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class TopKSelectTests_Cuda(CudaBackend b) : TopKSelectTests(b), IClassFixture<CudaBackend>;
public sealed class TopKSelectTests_OpenCL(OpenCLBackend b) : TopKSelectTests(b), IClassFixture<OpenCLBackend>;

/// <summary>The top-k launch-time checks (no device needed).</summary>
public sealed class TopKShapesTests
{
    [Fact]
    public void Limits_are_reported_in_one_line()
    {
        var error = Assert.Throws<ArgumentException>(() => TopKShapes.Validate(TopKKernels.MaxRowLength, 2048));
        Assert.Contains("top-k", error.Message);
        Assert.DoesNotContain("\n", error.Message);
        Assert.Throws<ArgumentException>(() => TopKShapes.Validate(100, -1));
    }
}
