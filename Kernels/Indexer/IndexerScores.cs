using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Paging;

namespace KernelSharp.Kernels.Indexer;

/// <summary>
/// Lightning-indexer scores (DSA.md §3, lightning indexer step 5): <c>I[s,t] = Σ_h w[s,h]·ReLU(scale·q[s,h]·k[t])</c>,
/// −∞ where the key is in the query's future. One thread per (query, key) pair, queries along the grid's X (so a
/// prefill may exceed 65535 tokens); the key cache is any row format (<see cref="IndexKeyCache"/>: <see cref="F32Rows"/>,
/// <see cref="Bf16Rows"/>, or <see cref="Fp8RowScaledRows"/> with its per-key scale), each key widened to fp32 by the
/// format's whole-row dot. Decode is the same kernel with one query; the FP8 decode path with a warp per key block is
/// <see cref="IndexerKernels.IndexerDecodeFp8"/>.
/// </summary>
/// <remarks>
/// Causality and paging: key t is visible to query s iff <c>t ≤ pages.Position(s)</c> (and t &lt; keyCount), and is read
/// from cache row <c>pages.CacheRow(s, t)</c> (<see cref="KeyPages"/>). An unpaged prefill of S new tokens after P cached
/// ones is <c>KeyPages.Contiguous</c> with positions P … P+S−1; a batched decode step is one query row per sequence, each
/// with its own position and block table, keyCount the longest sequence's length (shorter rows end in −∞).
/// <c>headWeights</c> already carry the <c>index_heads^-0.5</c> factor of step 4, and <c>scale</c> is <c>index_dim^-0.5</c>.
/// </remarks>
public static partial class IndexerKernels
{
    [Kernel(Grid = "queryCount", GridY = "(keyCount + groupSize - 1) / groupSize", GroupSize = "groupSize")]
    public static void IndexerScores<TKeys>(
        ArrayView<float> queries,      // [S, H, D] index queries after RoPE
        ArrayView<float> headWeights,  // [S, H] w[s,h]
        TKeys keys,                    // [cache rows, D] index key cache (rows as pages maps them)
        ArrayView<float> scores,       // [S, T] out
        int queryCount,
        int keyCount,
        int heads,
        int dim,
        float scale,
        KeyPages pages,                // [S] each query's position and where its keys live
        [Constant(128, 1)] int groupSize)
        where TKeys : struct, IRowFormat<TKeys>
    {
        int s = Grid.IdxX;
        int t = Grid.IdxY * Group.DimX + Group.IdxX;
        if (t >= keyCount)
            return;
        float total = float.NegativeInfinity;
        if (t <= pages.Position(s))
        {
            total = 0f;
            int row = pages.CacheRow(s, t);
            for (int h = 0; h < heads; h++)
            {
                float dot = keys.RowDot(row, dim, queries, ((long)s * heads + h) * dim);
                total += headWeights[(long)s * heads + h] * IndexerMath.Relu(scale * dot);
            }
        }
        scores[(long)s * keyCount + t] = total;
    }
}
