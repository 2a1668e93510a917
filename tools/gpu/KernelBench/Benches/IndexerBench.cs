using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Paging;
using static KernelSharp.Tools.KernelBench.ResultTable;

namespace KernelSharp.Tools.KernelBench;

/// <summary>
/// Lightning indexer, 64 heads × 128, FP8 key cache (e4m3 values + one fp32 scale per key):
/// decode (one query against T cached keys: IndexerDecodeFp8TensorCore, with the CUDA-core IndexerDecodeFp8 in the
/// notes) as bytes per second over the copy ceiling, the model's fp32-cache decode kernel (IndexerScoresWarpKeys&lt;F32Rows&gt;)
/// as time against the time budget set for it, and prefill (S = 8K queries, causal, IndexerScoresWarpKeys&lt;Fp8RowScaledRows&gt;;
/// the fp32-cache IndexerScoresWarpKeys&lt;F32Rows&gt; of the model's path in the notes) against the PyTorch version.
/// </summary>
public static class IndexerBench
{
    public const int Heads = 64;
    public const int Dim = 128;
    private static readonly float Scale = 1f / MathF.Sqrt(Dim);

    public static IEnumerable<BenchRow> Decode(KernelDevice device, int tokens, double copyTbps, Baselines baselines)
    {
        var accelerator = device.Accelerator;
        long cacheBytes = (long)tokens * (Dim + 4);
        int copies = GpuTiming.CopiesToDefeatCache(cacheBytes);
        var keyValues = Enumerable.Range(0, copies).Select(_ => accelerator.Allocate1D<byte>((long)tokens * Dim)).ToArray(); // each [T, D] e4m3
        var keyScales = Enumerable.Range(0, copies).Select(_ => accelerator.Allocate1D<float>(tokens)).ToArray();         // each [T]
        using var query = accelerator.Allocate1D<float>(Heads * Dim); // [H, D]
        using var weights = accelerator.Allocate1D<float>(Heads);     // [H]
        using var scores = accelerator.Allocate1D<float>(tokens);     // [T]
        try
        {
            for (int c = 0; c < copies; c++)
            {
                DeviceRandom.Fp8(accelerator, keyValues[c].View, (uint)(300 + c));
                DeviceRandom.Between(accelerator, keyScales[c].View, (uint)(400 + c), 1e-3f, 4e-3f);
            }
            DeviceRandom.Uniform(accelerator, query.View, 9);
            DeviceRandom.Uniform(accelerator, weights.View, 10, 0.125f);
            DeviceRandom.Fill(accelerator, scores.View, float.NaN);
            IndexerKernels.LaunchIndexerDecodeFp8(device, query.View, weights.View, keyValues[0].View, keyScales[0].View, scores.View, tokens, Heads, Dim, Scale);
            device.Synchronize();
            double cudaCoreError = CheckScores(keyValues[0], keyScales[0], query, weights, scores, firstQuery: 0, queryCount: 1, keyCount: tokens, causalOffset: tokens - 1, checkedKeys: 1024);
            double cudaCoreMs = GpuTiming.MedianMilliseconds(accelerator,
                i => IndexerKernels.LaunchIndexerDecodeFp8(device, query.View, weights.View, keyValues[i % copies].View, keyScales[i % copies].View, scores.View, tokens, Heads, Dim, Scale), 5, 5);

            // The row: the tensor-core kernel (bf16 query, e4m3 keys exact in bf16), checked against a bf16-rounded query.
            DeviceRandom.Fill(accelerator, scores.View, float.NaN);
            IndexerKernels.LaunchIndexerDecodeFp8TensorCore(device, query.View, weights.View, keyValues[0].View, keyScales[0].View, scores.View, tokens, Heads, Scale);
            device.Synchronize();
            double error = CheckScores(keyValues[0], keyScales[0], query, weights, scores, firstQuery: 0, queryCount: 1, keyCount: tokens, causalOffset: tokens - 1, checkedKeys: 1024, roundQueryToBf16: true);
            double ms = GpuTiming.MedianMilliseconds(accelerator,
                i => IndexerKernels.LaunchIndexerDecodeFp8TensorCore(device, query.View, weights.View, keyValues[i % copies].View, keyScales[i % copies].View, scores.View, tokens, Heads, Scale), 20, 9);
            double bytes = cacheBytes + 4.0 * tokens + 4.0 * Heads * (Dim + 1);
            double tbps = bytes / (ms * 1e-3) / 1e12;
            double ratio = tbps / copyTbps;
            string torch = baselines.IndexerDecodeMs(tokens) is { } t ? $"; PyTorch bf16 {F(t * 1e3, "F1")} µs = {F(t / ms, "F1")}× slower" : "";
            yield return new BenchRow($"indexer decode fp8, T = {Tokens(tokens)}", $"{F(tbps)} TB/s ({F(ms * 1e3, "F1")} µs)",
                $"copy {F(copyTbps)} TB/s", ratio, "≥ 0.80 of copy", ratio >= 0.8, $"tensor cores, rel. err {error:E1} (bf16 query){torch}; CUDA-core IndexerDecodeFp8 {F(cudaCoreMs * 1e3, "F1")} µs, rel. err {cudaCoreError:E1}");
        }
        finally
        {
            foreach (var buffer in keyValues)
                buffer.Dispose();
            foreach (var buffer in keyScales)
                buffer.Dispose();
        }
        foreach (var row in DecodeFp32(device, tokens, copyTbps))
            yield return row;
    }

    /// <summary>
    /// The model's decode path: one query against an fp32 key cache [T, 128] with
    /// <see cref="IndexerKernels.IndexerScoresWarpKeys{TKeys}"/>. 8192 FMA per key make it compute-bound (~32 µs at 128K
    /// at the H200's fp32 peak); the per-layer budget set for indexer + top-k at 128K is ≈ 100 µs.
    /// </summary>
    public static IEnumerable<BenchRow> DecodeFp32(KernelDevice device, int tokens, double copyTbps)
    {
        var accelerator = device.Accelerator;
        long cacheBytes = (long)tokens * Dim * sizeof(float);
        int copies = GpuTiming.CopiesToDefeatCache(cacheBytes);
        var keys = Enumerable.Range(0, copies).Select(_ => accelerator.Allocate1D<float>((long)tokens * Dim)).ToArray(); // each [T, D]
        using var query = accelerator.Allocate1D<float>(Heads * Dim); // [H, D]
        using var weights = accelerator.Allocate1D<float>(Heads);     // [H]
        using var scores = accelerator.Allocate1D<float>(tokens);     // [T]
        try
        {
            for (int c = 0; c < copies; c++)
                DeviceRandom.Uniform(accelerator, keys[c].View, (uint)(500 + c));
            DeviceRandom.Uniform(accelerator, query.View, 19);
            DeviceRandom.Uniform(accelerator, weights.View, 20, 0.125f);
            DeviceRandom.Fill(accelerator, scores.View, float.NaN);
            using var position = accelerator.Allocate1D(new[] { tokens - 1 }); // the one query sees every key, unpaged
            var pages = KeyPages.Contiguous(position.View);
            IndexerKernels.LaunchIndexerScoresWarpKeys(device, query.View, weights.View, new F32Rows(keys[0].View), scores.View, 1, tokens, Heads, Dim, Scale, pages);
            device.Synchronize();
            double error = CheckFp32Scores(keys[0], query, weights, scores, tokens);
            double ms = GpuTiming.MedianMilliseconds(accelerator,
                i => IndexerKernels.LaunchIndexerScoresWarpKeys(device, query.View, weights.View, new F32Rows(keys[i % copies].View), scores.View, 1, tokens, Heads, Dim, Scale, pages), 20, 9);
            double tbps = (cacheBytes + 4.0 * tokens) / (ms * 1e-3) / 1e12;
            double tflops = 2.0 * Heads * Dim * tokens / (ms * 1e-3) / 1e12;
            double budgetUs = Math.Max(5.0, 60.0 * tokens / (128 * 1024)); // the 128K target scaled down, floored at a launch
            yield return new BenchRow($"indexer decode fp32 cache (model path), T = {Tokens(tokens)}", $"{F(ms * 1e3, "F1")} µs ({F(tflops, "F1")} TFLOP/s)",
                $"copy {F(copyTbps)} TB/s", tbps / copyTbps, $"≤ {F(budgetUs, "F0")} µs", ms * 1e3 <= budgetUs,
                $"IndexerScoresWarpKeys<F32Rows>, rel. err {error:E1}; {F(tbps)} TB/s of keys");
        }
        finally
        {
            foreach (var buffer in keys)
                buffer.Dispose();
        }
    }

    /// <summary>
    /// Scores of query row <paramref name="queryRow"/> (causal: it sees keys 0..queryRow; a decode query is row 0 that
    /// sees everything) over an fp32 cache of <paramref name="tokens"/> keys against the float64 reference, on the
    /// first min(visible, 1024) keys; throws past 1e-4.
    /// </summary>
    private static double CheckFp32Scores(
        MemoryBuffer1D<float, Stride1D.Dense> keys, MemoryBuffer1D<float, Stride1D.Dense> queries,
        MemoryBuffer1D<float, Stride1D.Dense> weights, MemoryBuffer1D<float, Stride1D.Dense> scores, int tokens, int? queryRow = null)
    {
        int row = queryRow ?? 0;
        int visible = queryRow is null ? tokens : row + 1;
        float[] k = new float[(long)Math.Min(visible, 1024) * Dim];
        keys.View.SubView(0, k.Length).CopyToCPU(k);
        return CheckRowScores("indexer decode fp32 scores", k, queries, weights, scores, tokens, row, roundQuery: false, 1e-4);
    }

    /// <summary>
    /// Row <paramref name="row"/>'s scores over the first keys (<paramref name="keys"/>, decoded, [checked, D]) against the
    /// float64 reference, the query rounded to bf16 first when <paramref name="roundQuery"/> (as the tensor-core kernels
    /// read it); throws past <paramref name="tolerance"/>.
    /// </summary>
    private static double CheckRowScores(string what, float[] keys, MemoryBuffer1D<float, Stride1D.Dense> queries,
        MemoryBuffer1D<float, Stride1D.Dense> weights, MemoryBuffer1D<float, Stride1D.Dense> scores, int tokens, int row, bool roundQuery, double tolerance)
    {
        int checkedKeys = keys.Length / Dim;
        float[] q = new float[Heads * Dim];
        float[] w = new float[Heads];
        float[] actual = new float[checkedKeys];
        queries.View.SubView((long)row * Heads * Dim, q.Length).CopyToCPU(q);
        weights.View.SubView((long)row * Heads, w.Length).CopyToCPU(w);
        scores.View.SubView((long)row * tokens, checkedKeys).CopyToCPU(actual);
        if (roundQuery)
            q = q.Select(v => Bf16.ToFloat(Bf16.FromFloat(v))).ToArray();
        double[] reference = IndexerScoresReference.Scores(q, w, keys, 1, checkedKeys, Heads, Dim, Scale, KeyPagesReference.Causal(1, checkedKeys - 1));
        return Verification.Require(what, actual, reference, tolerance);
    }

    public static IEnumerable<BenchRow> Prefill(KernelDevice device, int tokens, Baselines baselines)
    {
        var accelerator = device.Accelerator;
        using var queries = accelerator.Allocate1D<float>((long)tokens * Heads * Dim); // [S, H, D]
        using var weights = accelerator.Allocate1D<float>((long)tokens * Heads);       // [S, H]
        using var keyValues = accelerator.Allocate1D<byte>((long)tokens * Dim);        // [S, D] e4m3
        using var keyScales = accelerator.Allocate1D<float>(tokens);                   // [S]
        using var scores = accelerator.Allocate1D<float>((long)tokens * tokens);       // [S, S]
        DeviceRandom.Uniform(accelerator, queries.View, 12);
        DeviceRandom.Uniform(accelerator, weights.View, 13, 0.125f);
        DeviceRandom.Fp8(accelerator, keyValues.View, 14);
        DeviceRandom.Between(accelerator, keyScales.View, 15, 1e-3f, 4e-3f);
        using var positions = accelerator.Allocate1D(Enumerable.Range(0, tokens).ToArray()); // [S] a fresh prompt, unpaged
        var pages = KeyPages.Contiguous(positions.View);
        DeviceRandom.Fill(accelerator, scores.View, float.NaN);
        IndexerKernels.LaunchIndexerScoresWarpKeys(device, queries.View, weights.View, new Fp8RowScaledRows(keyValues.View, keyScales.View), scores.View, tokens, tokens, Heads, Dim, Scale, pages);
        device.Synchronize();
        double error = CheckScores(keyValues, keyScales, queries, weights, scores, firstQuery: tokens - 2, queryCount: 2, keyCount: tokens, causalOffset: 0, checkedKeys: tokens);

        double ms = GpuTiming.MedianMilliseconds(accelerator,
            _ => IndexerKernels.LaunchIndexerScoresWarpKeys(device, queries.View, weights.View, new Fp8RowScaledRows(keyValues.View, keyScales.View), scores.View, tokens, tokens, Heads, Dim, Scale, pages), 1, 5);
        double? torch = baselines.IndexerPrefillMs;
        double? ratio = torch / ms;

        // The model's prefill path keeps fp32 keys and runs the warp-keys kernel: its time goes in the notes.
        using var fp32Keys = accelerator.Allocate1D<float>((long)tokens * Dim); // [S, D]
        DeviceRandom.Uniform(accelerator, fp32Keys.View, 16);
        DeviceRandom.Fill(accelerator, scores.View, float.NaN);
        IndexerKernels.LaunchIndexerScoresWarpKeys(device, queries.View, weights.View, new F32Rows(fp32Keys.View), scores.View, tokens, tokens, Heads, Dim, Scale, pages);
        device.Synchronize();
        double fp32Error = CheckFp32Scores(fp32Keys, queries, weights, scores, tokens, queryRow: tokens - 1);
        double fp32Ms = GpuTiming.MedianMilliseconds(accelerator,
            _ => IndexerKernels.LaunchIndexerScoresWarpKeys(device, queries.View, weights.View, new F32Rows(fp32Keys.View), scores.View, tokens, tokens, Heads, Dim, Scale, pages), 1, 5);
        yield return new BenchRow($"indexer prefill fp8, S = {Tokens(tokens)}", $"{F(ms, "F1")} ms", torch is { } t ? $"PyTorch bf16 {F(t, "F1")} ms" : "PyTorch: missing",
            ratio, "≥ 2× PyTorch", ratio is { } r ? r >= 2 : null,
            $"IndexerScoresWarpKeys<Fp8RowScaledRows> (CUDA cores, fp32 math), rel. err {error:E1}; fp32 keys (IndexerScoresWarpKeys<F32Rows>, the exact prefill's path) {F(fp32Ms, "F1")} ms, rel. err {fp32Error:E1}");

        // The default (tensor-core) prefill's path: the keys gathered to bf16, then IndexerPrefillTensorCore.
        using var bf16Keys = accelerator.Allocate1D<ushort>((long)tokens * Dim); // [S, D] bf16
        DeviceRandom.Bf16(accelerator, bf16Keys.View, 17);
        DeviceRandom.Fill(accelerator, scores.View, float.NaN);
        IndexerKernels.LaunchIndexerPrefillTensorCore(device, queries.View, weights.View, bf16Keys.View, positions.View, scores.View, tokens, tokens, Heads, Scale);
        device.Synchronize();
        double tcError = CheckBf16Scores(bf16Keys, queries, weights, scores, tokens);
        double tcMs = GpuTiming.MedianMilliseconds(accelerator,
            _ => IndexerKernels.LaunchIndexerPrefillTensorCore(device, queries.View, weights.View, bf16Keys.View, positions.View, scores.View, tokens, tokens, Heads, Scale), 1, 5);
        double? tcRatio = torch / tcMs;
        yield return new BenchRow($"indexer prefill, tensor cores (bf16 keys), S = {Tokens(tokens)}", $"{F(tcMs, "F1")} ms", torch is { } t2 ? $"PyTorch bf16 {F(t2, "F1")} ms" : "PyTorch: missing",
            tcRatio, "≥ 2× PyTorch", tcRatio is { } r2 ? r2 >= 2 : null,
            $"IndexerPrefillTensorCore (the default prefill's path; queries rounded to bf16), rel. err {tcError:E1}");
    }

    /// <summary>
    /// The last query row's scores (it sees every key) over the first 1024 bf16 keys against the float64 reference on
    /// the same bf16 keys and the query rounded to bf16, as the tensor-core kernel reads them; throws past 1e-3.
    /// </summary>
    private static double CheckBf16Scores(
        MemoryBuffer1D<ushort, Stride1D.Dense> keys, MemoryBuffer1D<float, Stride1D.Dense> queries,
        MemoryBuffer1D<float, Stride1D.Dense> weights, MemoryBuffer1D<float, Stride1D.Dense> scores, int tokens)
    {
        ushort[] bits = new ushort[(long)Math.Min(tokens, 1024) * Dim];
        keys.View.SubView(0, bits.Length).CopyToCPU(bits);
        return CheckRowScores("indexer prefill tensor-core scores", bits.Select(Bf16.ToFloat).ToArray(), queries, weights, scores, tokens,
            tokens - 1, roundQuery: true, 1e-3);
    }

    /// <summary>Downloads queries [firstQuery, +queryCount) and keys [0, checkedKeys) and compares their scores with the float64 reference.</summary>
    private static double CheckScores(
        MemoryBuffer1D<byte, Stride1D.Dense> keyValues, MemoryBuffer1D<float, Stride1D.Dense> keyScales,
        MemoryBuffer1D<float, Stride1D.Dense> queries, MemoryBuffer1D<float, Stride1D.Dense> weights, MemoryBuffer1D<float, Stride1D.Dense> scores,
        int firstQuery, int queryCount, int keyCount, int causalOffset, int checkedKeys, bool roundQueryToBf16 = false)
    {
        byte[] values = new byte[(long)checkedKeys * Dim];
        float[] scales = new float[checkedKeys];
        float[] q = new float[queryCount * Heads * Dim];
        float[] w = new float[queryCount * Heads];
        keyValues.View.SubView(0, values.Length).CopyToCPU(values);
        keyScales.View.SubView(0, checkedKeys).CopyToCPU(scales);
        queries.View.SubView((long)firstQuery * Heads * Dim, q.Length).CopyToCPU(q);
        weights.View.SubView((long)firstQuery * Heads, w.Length).CopyToCPU(w);
        if (roundQueryToBf16)
            q = q.Select(x => Bf16.ToFloat(Bf16.FromFloat(x))).ToArray();
        float[] keys = IndexKeyCacheReference.DequantizeFp8(values, scales, checkedKeys, Dim);
        double[] reference = IndexerScoresReference.Scores(q, w, keys, queryCount, checkedKeys, Heads, Dim, Scale, KeyPagesReference.Causal(queryCount, firstQuery + causalOffset));
        float[] actual = new float[(long)queryCount * checkedKeys];
        for (int s = 0; s < queryCount; s++)
        {
            float[] row = new float[checkedKeys];
            scores.View.SubView((long)(firstQuery + s) * keyCount, checkedKeys).CopyToCPU(row);
            row.CopyTo(actual, (long)s * checkedKeys);
        }
        return Verification.Require("indexer scores", actual, reference, 1e-4);
    }
}
