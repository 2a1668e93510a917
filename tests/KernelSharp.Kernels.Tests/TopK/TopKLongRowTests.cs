using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.TopK;
using Xunit;

namespace KernelSharp.Kernels.Tests.TopK;

/// <summary>
/// The long-row top-k sequence (<see cref="TopKLongRow.Launch"/>: four multi-group radix passes, a count and an
/// ordered write) through the generated launchers on each backend, against <see cref="TopKSelectReference"/>: the
/// selection, its order and the count must be identical, ties and masked keys included.
/// </summary>
public abstract class TopKLongRowTests(KernelBackend backend)
{
    static TopKLongRowTests()
    {
        // The launchers consult the autotuner; keep its file out of the user's cache folder.
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE",
            Path.Combine(Path.GetTempPath(), $"ks-kernels-tests-autotune-{Environment.ProcessId}.json"));
    }

    [SkippableTheory]
    [InlineData(5000, 2048)]    // DeepSeek's k, five slices, the last partial
    [InlineData(3000, 37)]      // k not a power of two
    [InlineData(1025, 1024)]    // one key past a slice; T = k + 1
    [InlineData(700, 700)]      // k = T: everything
    [InlineData(700, 900)]      // k > T: everything, count = T
    [InlineData(1, 1)]          // a single key
    [InlineData(2500, 0)]       // k = 0 selects nothing
    public void Random_scores_match_reference(int length, int k)
    {
        var random = new Random(length * 17 + k);
        float[] scores = RandomTensors.Normal(random, length);
        RunAndCompare(scores, k);
    }

    [SkippableFact]
    public void Heavy_ties_zeros_and_signed_zeros_follow_the_tie_rule()
    {
        var random = new Random(21);
        // Few distinct values across many slices (ReLU sums give many exact zeros), so the k-th score is a big tie
        // whose taken part spans slices.
        float[] palette = [0f, -0f, 1f, 0.5f, -2f, 3f];
        float[] scores = Enumerable.Range(0, 9000).Select(_ => palette[random.Next(palette.Length)]).ToArray();
        RunAndCompare(scores, 2500);
    }

    [SkippableFact]
    public void Masked_scores_are_never_selected()
    {
        var random = new Random(22);
        float[] scores = RandomTensors.Uniform(random, 4100);
        for (int t = 0; t < scores.Length; t++)
        {
            if (random.Next(3) == 0)
                scores[t] = random.Next(2) == 0 ? float.NegativeInfinity : float.NaN;
        }
        RunAndCompare(scores, 2048);          // about 2 700 valid keys: a real selection
        RunAndCompare(scores, 4000);          // more than the valid keys: all of them
    }

    /// <summary>
    /// A batch of rows in one launch sequence (a decode step of several sequences): padded rows of one score matrix,
    /// each ending in −∞ past its own sequence's length, some shorter than k, one empty, heavy ties in the others. Each
    /// row must get exactly what the one-group kernel's reference gives it, its count, and nothing past its count.
    /// </summary>
    [SkippableFact]
    public void Rows_of_different_lengths_in_one_launch_match_reference()
    {
        var random = new Random(23);
        const int k = 2048;
        const int length = 5000;
        const long rowStride = 5003; // padded rows: every row starts off the previous one's end
        int[] visible = [5000, 0, 2047, 2049, 3100, 1, 4097];
        int rows = visible.Length;
        float[] palette = [0f, 1f, 0.5f, -2f, 3f];
        var host = new float[rows * rowStride];
        for (int r = 0; r < rows; r++)
        {
            for (int t = 0; t < rowStride; t++)
            {
                bool tied = r % 2 == 0;
                host[r * rowStride + t] = t >= visible[r] ? float.NegativeInfinity
                    : tied ? palette[random.Next(palette.Length)] : (float)random.NextDouble();
            }
        }

        using var device = Open();
        using var scores = device.Allocate<float>(host.Length);
        scores.View.CopyFromCPU(host);
        using var indices = device.Allocate<int>((long)rows * k);
        using var counts = device.Allocate<int>(rows);
        using var workspace = device.Allocate<int>(TopKLongRow.WorkspaceLength(rows, length));
        indices.View.CopyFromCPU(Enumerable.Repeat(-7, rows * k).ToArray());
        counts.View.CopyFromCPU(Enumerable.Repeat(-1, rows).ToArray());
        TopKLongRow.Launch(device, scores.View, indices.View, counts.View, workspace.View, rows, length, rowStride, k);
        device.Synchronize();

        int[][] expected = TopKSelectReference.Select(host, rows, length, rowStride, k);
        int[] actualIndices = indices.GetAsArray1D();
        int[] actualCounts = counts.GetAsArray1D();
        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(Math.Min(k, visible[r]), expected[r].Length);
            Assert.True(expected[r].Length == actualCounts[r], $"row {r}: count {actualCounts[r]}, expected {expected[r].Length}");
            Assert.Equal(expected[r], actualIndices.Skip(r * k).Take(expected[r].Length).ToArray());
            Assert.All(actualIndices.Skip(r * k + expected[r].Length).Take(k - expected[r].Length), i => Assert.Equal(-7, i));
        }
    }

    [SkippableFact]
    public void A_batch_with_a_row_stride_below_the_row_length_is_refused_in_one_line()
    {
        using var device = Open();
        using var buffer = device.Allocate<float>(16);
        using var ints = device.Allocate<int>(4096);
        var error = Assert.Throws<ArgumentException>(() =>
            TopKLongRow.Launch(device, buffer.View, ints.View, ints.View, ints.View, 2, 8, 4, 2));
        Assert.Contains("row stride", error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }

    private void RunAndCompare(float[] host, int k)
    {
        using var device = Open();
        int length = host.Length;
        using var scores = device.Allocate<float>(Math.Max(1, length));
        scores.View.SubView(0, length).CopyFromCPU(host);
        using var indices = device.Allocate<int>(Math.Max(1, k));
        using var count = device.Allocate<int>(1);
        using var workspace = device.Allocate<int>(TopKKernels.TopKRowWorkspaceLength(length));
        indices.View.CopyFromCPU(Enumerable.Repeat(-7, Math.Max(1, k)).ToArray());
        count.View.CopyFromCPU([-1]);

        TopKLongRow.Launch(device, scores.View.SubView(0, length), indices.View, count.View, workspace.View, length, k);
        device.Synchronize();

        int[] expected = TopKSelectReference.Select(host, 1, length, length, k)[0];
        int[] actualIndices = indices.GetAsArray1D();
        Assert.Equal(expected.Length, count.GetAsArray1D()[0]);
        Assert.Equal(expected, actualIndices.Take(expected.Length).ToArray());
        Assert.All(actualIndices.Skip(expected.Length), i => Assert.Equal(-7, i)); // entries past the count untouched
    }

    private KernelDevice Open()
    {
        try
        {
            return KernelDevice.Create(backend);
        }
        catch (Exception e) when (backend is KernelBackend.Cuda or KernelBackend.OpenCL)
        {
            Skip.If(true, $"{backend} unavailable: {e.Message}");
            throw;
        }
    }
}

public sealed class TopKLongRowTests_FastCpu() : TopKLongRowTests(KernelBackend.FastCpu);
public sealed class TopKLongRowTests_IlgpuCpu() : TopKLongRowTests(KernelBackend.IlgpuCpu);
public sealed class TopKLongRowTests_Cuda() : TopKLongRowTests(KernelBackend.Cuda);
