using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Paging;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Kernels.TopK;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// The lightning indexer on the kernel library: scores and top-k selection, one launch sequence per run of segments that
/// share a key cache. A prompt's scores run on the tensor cores when the prefill does (<see cref="ScoresOnTensorCores"/>).
/// </summary>
internal sealed class KernelIndexer(KernelStorage storage, KernelKeyPages pages, KernelModelBackend backend)
{
    /// <summary>
    /// I[t, j] = Σ_h w[t, h] · ReLU(q[t, h]·K[j]) for visible keys, −∞ elsewhere. q [T, heads·dim], w [T, heads]
    /// → [T, max KeyCount]. The kernel's <c>scale</c> is 1: every scale is already folded into w (ReLU commutes with a
    /// positive factor).
    /// </summary>
    public KernelTensor Scores(KernelTensor q, KernelTensor headWeights, int heads, IReadOnlyList<AttentionSegment> segments)
    {
        if (heads <= 0 || q.Columns % heads != 0)
        {
            throw new ArgumentException($"indexer queries {q} do not split into {heads} heads");
        }

        BackendArguments.RequireColumns(headWeights, heads, "indexer head weights");
        var dim = q.Columns / heads;
        var keyColumns = segments.Count == 0 ? 0 : segments.Max(s => s.KeyCount);
        var scores = storage.NewTensor(q.Rows, keyColumns); // [T, keyColumns]
        var device = storage.Device;
        if (scores.Length > 0 && !CacheRun.CoverEveryRow(segments, q.Rows))
        {
            // the score kernels write every column of their rows (−∞ past a row's position); rows of no segment stay −∞
            TensorKernels.LaunchFillFloat(device, scores.View, float.NegativeInfinity, checked((int)scores.Length));
        }

        foreach (var run in CacheRun.Split(segments))
        {
            var keyCache = run.First.IndexKeys; // [cache rows, dim]
            BackendArguments.RequireColumns(keyCache, dim, "indexer key cache");
            var queries = q.RowsView(run.FirstRow, run.Rows);
            var weights = headWeights.RowsView(run.FirstRow, run.Rows);
            var output = scores.RowsView(run.FirstRow, run.Rows); // row stride keyColumns: each row scored up to its position, −∞ after
            // The warp-keys kernel's wide loads (4 dims: 16 bytes of fp32, one word of e4m3) need dim a multiple of 4.
            bool warpKeys = UsesGpuShapedKernels(device) && IndexerShapes.FitsDecodeFp32(heads, dim);
            var table = pages.For(run); // the cache row of each key
            // The one place the key cache's format is looked at (the pool's IndexKeys, in the format chosen at load and
            // written by StoreRotatedKeys): the kernels below are compiled per row format.
            bool tensorCores = ScoresOnTensorCores(run, heads, dim);
            if (keyCache is KernelFp8IndexKeyCache fp8)
            {
                LaunchScores(device, warpKeys, tensorCores, queries, weights, fp8.Keys, output, run, keyColumns, heads, dim, table);
                continue;
            }

            LaunchScores(device, warpKeys, tensorCores, queries, weights, new F32Rows(KernelModelBackend.Kernel(keyCache).View), output, run, keyColumns, heads, dim, table);
        }

        return scores;
    }

    /// <summary>
    /// A prompt chunk of one sequence (fp32 or FP8 key cache) when the prefill runs on tensor cores (as transformers' bf16
    /// prefill scores: queries and keys in bf16, sums in fp32, which moves scores by ~1e-3 relative and so may swap keys
    /// that tie within that distance), at the widths <see cref="IndexerKernels.IndexerPrefillTensorCore"/> serves (dim 128,
    /// up to 64 heads: DeepSeek-V3.2's). Decode rows and batches of several sequences keep their kernels.
    /// </summary>
    private bool ScoresOnTensorCores(CacheRun run, int heads, int dim) =>
        backend.PromptOnTensorCores && run.Segments.Count == 1 && run.Rows > KernelModelBackend.GemvMaxRows
        && dim == IndexerKernels.DecodeTcDim && heads <= IndexerKernels.DecodeMaxHeads;

    /// <summary>
    /// Per row the min(k, visible keys) largest finite scores (ties → lower index), then −1s → [T, k]. Selected keys
    /// come in ascending index order (the set is what matters; attention visits them in cache order).
    /// </summary>
    public KernelIndexTensor TopK(KernelTensor scores, int k, IReadOnlyList<AttentionSegment> segments)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        var selected = storage.NewIndexTensor(scores.Rows, k); // [T, k]
        var device = storage.Device;
        TensorKernels.LaunchFillInt(device, selected.View, -1, checked((int)selected.Length));
        using var counts = storage.Buffer<int>(scores.Rows); // [T] selected per row (the −1 fill marks the rest)
        var runs = CacheRun.Split(segments);
        var longRuns = runs.Where(r => UsesGpuShapedKernels(device) && IsDecodeBeyondK(r, k)).ToList();
        var workspaceLength = longRuns.Select(r => TopKLongRow.WorkspaceLength(r.Rows, r.KeyCount)).DefaultIfEmpty(0).Max();
        using var workspace = workspaceLength > 0 ? storage.Buffer<int>(workspaceLength) : null; // long-row radix scratch, one block per row
        foreach (var run in runs)
        {
            if (run.KeyCount > scores.Columns)
            {
                throw new ArgumentException($"scores {scores} have fewer columns than the {run.KeyCount} keys of a segment");
            }

            if (longRuns.Contains(run))
            {
                // Decode rows with more keys than k: the radix select spread over each row, all rows in one launch sequence
                // (a shorter sequence's row ends in −∞, which is never selected).
                TopKLongRow.Launch(device, scores.RowsView(run.FirstRow, run.Rows), selected.RowsView(run.FirstRow, run.Rows),
                    counts.View.SubView(run.FirstRow, run.Rows), workspace!.View, run.Rows, run.KeyCount, scores.Columns, k);
                continue;
            }

            // Rows that see fewer than run.KeyCount keys have −∞ there, which is never selected.
            TopKKernels.LaunchTopKSelect(device, scores.RowsView(run.FirstRow, run.Rows), selected.RowsView(run.FirstRow, run.Rows),
                counts.View.SubView(run.FirstRow, run.Rows), run.Rows, run.KeyCount, scores.Columns, k);
        }

        return selected;
    }

    /// <summary>
    /// Scores [rows, keyColumns] of a run's rows, each over its own keys (the page table maps positions to cache rows). On a
    /// GPU the warp-keys kernel (one group per query and 128 keys, the query in shared memory, keys streamed into
    /// registers) fills the device for a decode step's rows as well as for prefill; on FastCpu the per-pair kernel with
    /// its vectorized dot is faster. With <paramref name="tensorCores"/> (<see cref="ScoresOnTensorCores"/>) the run's keys
    /// are gathered to bf16 in position order first and scored by the tensor-core prefill kernel.
    /// </summary>
    private void LaunchScores<TKeys>(KernelDevice device, bool warpKeys, bool tensorCores, ArrayView<float> queries, ArrayView<float> weights,
        TKeys keys, ArrayView<float> output, CacheRun run, int keyColumns, int heads, int dim, DevicePages table)
        where TKeys : struct, IRowFormat<TKeys>
    {
        if (tensorCores)
        {
            // One sequence's visible keys as bf16 in position order (the FP8 cache decoded with its scales), then the scores on the tensor cores.
            using var gathered = storage.Buffer<ushort>((long)run.KeyCount * dim); // [keys, dim] bf16, key p at row p
            PagingKernels.LaunchGatherCacheRowsBf16(device, keys, table.Keys, gathered.View, run.KeyCount, dim);
            IndexerKernels.LaunchIndexerPrefillTensorCore(device, queries, weights, gathered.View, table.Positions, output, run.Rows, keyColumns, heads, 1f);
            return;
        }

        if (warpKeys)
        {
            IndexerKernels.LaunchIndexerScoresWarpKeys(device, queries, weights, keys, output, run.Rows, keyColumns, heads, dim, 1f, table.Keys);
            return;
        }

        IndexerKernels.LaunchIndexerScores(device, queries, weights, keys, output, run.Rows, keyColumns, heads, dim, 1f, table.Keys);
    }

    /// <summary>
    /// The decode-shaped kernels (tiled decode scores, multi-group top-k) exist to fill a GPU; on FastCpu (host threads
    /// running one group's threads one after another) the per-pair scores kernel with its vectorized dot and the
    /// one-thread-per-row top-k are faster. The ILGPU CPU accelerator runs them, so CPU tests still cover them.
    /// </summary>
    private static bool UsesGpuShapedKernels(KernelDevice device) => device.Backend != KernelBackend.FastCpu;

    /// <summary>
    /// Decode rows (one per sequence) with more keys than k: an actual selection per row, worth the multi-group top-k.
    /// A prefill's many rows of one sequence keep the one-group-per-row select.
    /// </summary>
    private static bool IsDecodeBeyondK(CacheRun run, int k) => run.Rows == run.Segments.Count && run.KeyCount > k;
}
