using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

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
/// Causality: key t is visible to query s iff <c>t ≤ s + causalOffset</c> (prefill of S new tokens after P cached
/// ones: offset P; decode of the token at position T−1: one query with offset T−1). <c>headWeights</c> already carry
/// the <c>index_heads^-0.5</c> factor of step 4, and <c>scale</c> is <c>index_dim^-0.5</c>.
/// </remarks>
public static partial class IndexerKernels
{
    [Kernel(Grid = "queryCount", GridY = "(keyCount + groupSize - 1) / groupSize", GroupSize = "groupSize")]
    public static void IndexerScores<TKeys>(
        ArrayView<float> queries,      // [S, H, D] index queries after RoPE
        ArrayView<float> headWeights,  // [S, H] w[s,h]
        TKeys keys,                    // [T, D] index key cache
        ArrayView<float> scores,       // [S, T] out
        int queryCount,
        int keyCount,
        int heads,
        int dim,
        float scale,
        int causalOffset,
        [Constant(128, 1)] int groupSize)
        where TKeys : struct, IRowFormat<TKeys>
    {
        int s = Grid.IdxX;
        int t = Grid.IdxY * Group.DimX + Group.IdxX;
        if (t >= keyCount)
            return;
        float total = float.NegativeInfinity;
        if (t <= s + causalOffset)
        {
            total = 0f;
            for (int h = 0; h < heads; h++)
            {
                float dot = keys.RowDot(t, dim, queries, ((long)s * heads + h) * dim);
                total += headWeights[(long)s * heads + h] * IndexerMath.Relu(scale * dot);
            }
        }
        scores[(long)s * keyCount + t] = total;
    }
}
