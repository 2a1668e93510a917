using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Attention;
using static KernelSharp.Tools.KernelBench.ResultTable;

namespace KernelSharp.Tools.KernelBench;

/// <summary>
/// Sparse MLA (absorbed form) over a bf16 latent cache on tensor cores (MlaTensorCoreKernels.SparseMlaTensorCore,
/// plus CombineMlaSplits when SparseMlaTensorCorePlan splits the keys to fill the GPU): 128 heads, kv_lora 512 +
/// rope 64, 2048 selected cache rows per query (random, as in baselines.py). Decode at batch 1..64 as bytes moved per
/// second over the copy ceiling and against PyTorch's gather + attention (which re-gathers the same rows every call,
/// so it may be served from L2; ours rotates index sets); prefill at S = 8K against PyTorch. Query 0 (every head) is
/// checked against the float64 reference on the same bf16-rounded queries first (the kernel also rounds P to bf16:
/// limit 1e-2 relative).
/// </summary>
public static class SparseMlaBench
{
    public const int Heads = 128;
    public const int Latent = 512;
    public const int Rope = 64;
    public const int Row = Latent + Rope;
    public const int Selected = 2048;
    private static readonly float Scale = 1f / MathF.Sqrt(Row);

    public static IEnumerable<BenchRow> Decode(KernelDevice device, int batch, double copyTbps, Baselines baselines)
    {
        const int cacheTokens = 65536; // as baselines.py
        var (ms, error, splits) = Run(device, batch, cacheTokens, samples: 9, launchesPerSample: 10);
        double bytes = 2.0 * batch * Selected * Row + 4.0 * batch * Heads * Row + 4.0 * batch * Heads * Latent + 4.0 * batch * Selected;
        double tbps = bytes / (ms * 1e-3) / 1e12;
        double ratio = tbps / copyTbps;
        double? torch = baselines.SparseMlaDecodeMs(batch);
        double? speedup = torch / ms;
        string target = batch == 64 ? "≥ 0.70 of copy; ≥ 10× PyTorch" : "≥ 10× PyTorch";
        bool? met = speedup is { } s ? s >= 10 && (batch != 64 || ratio >= 0.7) : null;
        yield return new BenchRow($"sparse MLA decode, batch {batch}", $"{F(ms * 1e3, "F1")} µs, {F(tbps)} TB/s",
            $"copy {F(copyTbps)} TB/s; PyTorch {(torch is { } t ? F(t * 1e3, "F1") + " µs" : "missing")}", ratio, target, met,
            $"{(speedup is { } x ? F(x, "F1") + "× PyTorch; " : "")}{splits} key splits; rel. err {error:E1}");
    }

    public static IEnumerable<BenchRow> Prefill(KernelDevice device, int tokens, Baselines baselines)
    {
        var (ms, error, splits) = Run(device, tokens, tokens, samples: 3, launchesPerSample: 1);
        double? torch = baselines.SparseMlaPrefillMs;
        double? ratio = torch / ms;
        yield return new BenchRow($"sparse MLA prefill, S = {Tokens(tokens)}", $"{F(ms, "F1")} ms", torch is { } t ? $"PyTorch {F(t, "F1")} ms" : "PyTorch: missing",
            ratio, "≥ 2× PyTorch", ratio is { } r ? r >= 2 : null, $"{splits} key splits; rel. err {error:E1}");
    }

    /// <summary>queryCount queries over a cache of cacheTokens rows, each attending 2048 random rows; returns the median ms, query 0's error and the key splits.</summary>
    private static (double Ms, double Error, int Splits) Run(KernelDevice device, int queryCount, int cacheTokens, int samples, int launchesPerSample)
    {
        var accelerator = device.Accelerator;
        using var queries = accelerator.Allocate1D<float>((long)queryCount * Heads * Row);    // [Q, H, L+R]
        using var cache = accelerator.Allocate1D<ushort>((long)cacheTokens * Row);             // [Tc, L+R] bf16
        // Several index sets rotate so consecutive launches gather different rows (one set would sit in L2 after a launch).
        int indexSets = queryCount <= 64 ? 8 : 1;
        using var selected = accelerator.Allocate1D<int>((long)indexSets * queryCount * Selected); // [sets, Q, 2048]
        using var counts = accelerator.Allocate1D<int>(queryCount);                            // [Q]
        using var output = accelerator.Allocate1D<float>((long)queryCount * Heads * Latent);   // [Q, H, L]
        int splits = SparseMlaTensorCorePlan.Splits(queryCount, Heads, Selected, accelerator.NumMultiprocessors);
        var (partialLength, statsLength) = SparseMlaTensorCorePlan.PartialLengths(queryCount, Heads, splits);
        using var partialOutput = accelerator.Allocate1D<float>(splits > 1 ? partialLength : 1); // [Q, splits, H, L]
        using var partialStats = accelerator.Allocate1D<float>(splits > 1 ? statsLength : 1);    // [Q, splits, H, 2]
        DeviceRandom.Uniform(accelerator, queries.View, 21);
        DeviceRandom.Bf16(accelerator, cache.View, 22);
        DeviceRandom.Indices(accelerator, selected.View, 23, cacheTokens);
        DeviceRandom.Fill(accelerator, counts.View, Selected);
        DeviceRandom.Fill(accelerator, output.View, float.NaN);
        SparseMlaTensorCorePlan.Validate(Heads, Latent, Rope);
        void Launch(int set) => SparseMlaTensorCorePlan.Launch(device, queries.View, cache.View,
            selected.View.SubView((long)set * queryCount * Selected, (long)queryCount * Selected), counts.View, output.View,
            partialOutput.View, partialStats.View, queryCount, Heads, Selected, splits, Scale);
        Launch(0);
        device.Synchronize();

        // Query 0: gather its rows into a compact cache and compare every head with the reference.
        int[] rows = new int[Selected];
        selected.View.SubView(0, Selected).CopyToCPU(rows);
        float[] q = new float[Heads * Row];
        queries.View.SubView(0, q.Length).CopyToCPU(q);
        var compact = new ushort[(long)Selected * Row]; // [2048, L+R] bf16: query 0's rows in selection order
        var bits = new ushort[Row];
        for (int j = 0; j < Selected; j++)
        {
            cache.View.SubView((long)rows[j] * Row, Row).CopyToCPU(bits);
            bits.CopyTo(compact, (long)j * Row);
        }
        double[] reference = SparseMlaTensorCoreReference.Compute(q, compact, [Enumerable.Range(0, Selected).ToArray()], Heads, Scale);
        float[] actual = new float[Heads * Latent];
        output.View.SubView(0, actual.Length).CopyToCPU(actual);
        double error = Verification.Require("sparse MLA (tensor cores)", actual, reference, 1e-2);

        double ms = GpuTiming.MedianMilliseconds(accelerator, i => Launch(i % indexSets), launchesPerSample, samples);
        return (ms, error, splits);
    }
}
