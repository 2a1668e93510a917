using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.TopK;
using static KernelSharp.Tools.KernelBench.ResultTable;

namespace KernelSharp.Tools.KernelBench;

/// <summary>
/// Top-k (k = 2048, DeepSeek-V3.2's index_topk) of one decode row of T indexer scores: the long-row sequence the
/// model uses (<see cref="TopKLongRow"/>: a workspace fill and 6 launches over T/1024 groups) against the one-group-per-row
/// <see cref="TopKKernels.TopKSelect"/>; both must select the same indices as the reference.
/// </summary>
public static class TopKBench
{
    public const int K = 2048;

    public static IEnumerable<BenchRow> Row(KernelDevice device, int tokens)
    {
        var accelerator = device.Accelerator;
        using var scores = accelerator.Allocate1D<float>(tokens);                                        // [T] one row
        using var indices = accelerator.Allocate1D<int>(K);                                              // [k]
        using var count = accelerator.Allocate1D<int>(1);                                                // [1]
        using var workspace = accelerator.Allocate1D<int>(TopKKernels.TopKRowWorkspaceLength(tokens));   // radix scratch
        DeviceRandom.Uniform(accelerator, scores.View, 31);

        float[] host = new float[tokens];
        scores.View.CopyToCPU(host);
        int[] expected = TopKSelectReference.Select(host, 1, tokens, tokens, K)[0];

        TopKLongRow.Launch(device, scores.View, indices.View, count.View, workspace.View, tokens, K);
        device.Synchronize();
        Require("long-row top-k", expected, indices, count);
        double longRowMs = GpuTiming.MedianMilliseconds(accelerator,
            _ => TopKLongRow.Launch(device, scores.View, indices.View, count.View, workspace.View, tokens, K), 20, 9);

        TopKKernels.LaunchTopKSelect(device, scores.View, indices.View, count.View, 1, tokens, tokens, K);
        device.Synchronize();
        Require("one-group top-k", expected, indices, count);
        double oneGroupMs = GpuTiming.MedianMilliseconds(accelerator,
            _ => TopKKernels.LaunchTopKSelect(device, scores.View, indices.View, count.View, 1, tokens, tokens, K), 5, 5);

        double budgetUs = Math.Max(10.0, 30.0 * tokens / (128 * 1024)); // the 128K target scaled down, floored at a few launches
        yield return new BenchRow($"top-k {K} of one row, T = {Tokens(tokens)}", $"{F(longRowMs * 1e3, "F1")} µs",
            $"one group per row {F(oneGroupMs * 1e3, "F1")} µs", oneGroupMs / longRowMs, $"≤ {F(budgetUs, "F0")} µs",
            longRowMs * 1e3 <= budgetUs, "same indices as the reference");
    }

    private static void Require(string what, int[] expected, MemoryBuffer1D<int, Stride1D.Dense> indices, MemoryBuffer1D<int, Stride1D.Dense> count)
    {
        int[] actual = indices.GetAsArray1D();
        int selected = count.GetAsArray1D()[0];
        if (selected != expected.Length || !actual.Take(expected.Length).SequenceEqual(expected))
            throw new InvalidOperationException($"{what}: selection differs from the reference ({selected} selected, {expected.Length} expected)");
    }
}
