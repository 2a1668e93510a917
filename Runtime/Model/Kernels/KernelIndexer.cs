using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Kernels.TopK;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>The lightning indexer on the kernel library: scores per segment (its own key cache) and top-k selection.</summary>
internal sealed class KernelIndexer(KernelStorage storage)
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
        if (scores.Length > 0)
        {
            TensorKernels.LaunchFillFloat(device, scores.View, float.NegativeInfinity, checked((int)scores.Length));
        }

        foreach (var segment in segments)
        {
            var keyCache = KernelModelBackend.Kernel(segment.IndexKeys); // [maxContext, dim]
            BackendArguments.RequireColumns(keyCache, dim, "indexer key cache");
            var queries = q.RowsView(segment.FirstRow, segment.RowCount);
            var weights = headWeights.RowsView(segment.FirstRow, segment.RowCount);
            // The model keeps its index keys in fp32 (LatentKvCache, written by WriteRotatedRows): this is the one place
            // their format is named; the kernels below are generic over it.
            var keys = new F32Rows(keyCache.RowsView(0, segment.KeyCount)); // [KeyCount, dim]
            bool warpKeys = UsesGpuShapedKernels(device) && IndexerShapes.FitsDecodeFp32(heads, dim);
            if (segment.KeyCount == keyColumns)
            {
                // The kernel's row stride is the segment's key count: equal to the output's, so it writes in place.
                LaunchScores(device, warpKeys, queries, weights, keys, scores.RowsView(segment.FirstRow, segment.RowCount), segment, heads, dim);
                continue;
            }

            using var part = storage.NewTensor(segment.RowCount, segment.KeyCount); // [rows, keys of this segment]
            LaunchScores(device, warpKeys, queries, weights, keys, part.View, segment, heads, dim);
            TensorKernels.LaunchCopyBlock(device, part.View, scores.View, segment.RowCount, segment.KeyCount,
                segment.KeyCount, 0, keyColumns, (long)segment.FirstRow * keyColumns);
        }

        return scores;
    }

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
        int longestSingleRow = segments.Where(s => UsesGpuShapedKernels(device) && IsLongSingleRow(s, k)).Select(s => s.KeyCount).DefaultIfEmpty(0).Max();
        using var workspace = longestSingleRow > 0 ? storage.Buffer<int>(TopKKernels.TopKRowWorkspaceLength(longestSingleRow)) : null; // long-row radix scratch
        foreach (var segment in segments)
        {
            if (segment.KeyCount > scores.Columns)
            {
                throw new ArgumentException($"scores {scores} have fewer columns than the {segment.KeyCount} keys of a segment");
            }

            if (UsesGpuShapedKernels(device) && IsLongSingleRow(segment, k))
            {
                // A decode row with more keys than k: spread the radix select over the row instead of one group.
                TopKLongRow.Launch(device, scores.RowsView(segment.FirstRow, 1).SubView(0, segment.KeyCount),
                    selected.RowsView(segment.FirstRow, 1), counts.View.SubView(segment.FirstRow, 1), workspace!.View,
                    segment.KeyCount, k);
                continue;
            }

            TopKKernels.LaunchTopKSelect(device, scores.RowsView(segment.FirstRow, segment.RowCount), selected.RowsView(segment.FirstRow, segment.RowCount),
                counts.View.SubView(segment.FirstRow, segment.RowCount), segment.RowCount, segment.KeyCount, scores.Columns, k);
        }

        return selected;
    }

    /// <summary>
    /// One segment's scores [rows, KeyCount] (row stride KeyCount). On a GPU the warp-keys kernel (one group per query
    /// and 128 keys, the query in shared memory, keys streamed into registers) fills the device for a decode step's
    /// single row as well as for prefill; on FastCpu the per-pair kernel with its vectorized dot is faster.
    /// </summary>
    private static void LaunchScores<TKeys>(KernelDevice device, bool warpKeys, ArrayView<float> queries, ArrayView<float> weights,
        TKeys keys, ArrayView<float> output, AttentionSegment segment, int heads, int dim)
        where TKeys : struct, IRowFormat<TKeys>
    {
        if (warpKeys)
        {
            IndexerKernels.LaunchIndexerScoresWarpKeys(device, queries, weights, keys, output,
                segment.RowCount, segment.KeyCount, heads, dim, 1f, segment.StartPosition);
            return;
        }

        IndexerKernels.LaunchIndexerScores(device, queries, weights, keys, output,
            segment.RowCount, segment.KeyCount, heads, dim, 1f, segment.StartPosition);
    }

    /// <summary>
    /// The decode-shaped kernels (tiled decode scores, multi-group top-k) exist to fill a GPU; on FastCpu (host threads
    /// running one group's threads one after another) the per-pair scores kernel with its vectorized dot and the
    /// one-thread-per-row top-k are faster. The ILGPU CPU accelerator runs them, so CPU tests still cover them.
    /// </summary>
    private static bool UsesGpuShapedKernels(KernelDevice device) => device.Backend != KernelBackend.FastCpu;

    /// <summary>One row with more keys than k: an actual selection, worth the multi-group top-k.</summary>
    private static bool IsLongSingleRow(AttentionSegment segment, int k) => segment.RowCount == 1 && segment.KeyCount > k;
}
