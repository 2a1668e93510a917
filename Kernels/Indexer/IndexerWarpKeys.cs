using System.Runtime.CompilerServices;
using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

/// <summary>
/// The parts of <see cref="IndexerKernels.IndexerScoresWarpKeys{TKeys}"/> that do not depend on the key format
/// (fp32, bf16 or e4m3 keys): keys streamed from global memory straight
/// into registers against a query held in shared memory. A warp scores 32 keys; lane <c>slot</c> (0..15) of each
/// half-warp takes keys <c>slot</c> and <c>slot + 16</c> and the half-warp's 32 heads (the lower half-warp heads
/// 0..31, the upper 32..63), so a lane holds 2 keys × 32 heads = 64 fp32 dot products. Per 4 dims it loads its two
/// keys' Float4 (the other half-warp loads the same addresses: one request) and, per head quad, four query Float4
/// that the whole half-warp reads at once (a broadcast): 32 shared loads feed 256 multiply-adds.
/// </summary>
public static class IndexerWarpKeys
{
    /// <summary>Keys one group scores: 4 warps × 32 keys.</summary>
    public const int GroupKeys = 128;

    /// <summary>Threads per group.</summary>
    public const int Threads = 128;

    /// <summary>Heads one lane accumulates: half of the 64-head tile.</summary>
    public const int HalfHeads = IndexerKernels.DecodeMaxHeads / 2;

    /// <summary>
    /// Floats between the two head halves of the shared query: 32 rows of 128 dims plus 4, so that the half-warps' two
    /// broadcast addresses of one load fall in different banks (a multiple of 32 words would put them in the same).
    /// </summary>
    public const int HalfStride = HalfHeads * IndexerKernels.DecodeMaxDim + 4;

    /// <summary>Floats of the shared query: <c>[2 halves][32 heads][128 dims]</c> with the 4-float gap between the halves.</summary>
    public const int QueryLength = 2 * HalfStride;

    /// <summary>Where head <paramref name="head"/>, dim <paramref name="d"/> sits in the shared query.</summary>
    public static int QueryIndex(int head, int d) =>
        head / HalfHeads * HalfStride + head % HalfHeads * IndexerKernels.DecodeMaxDim + d;

    /// <summary>
    /// Stages query row <paramref name="s"/> (<c>[H, D]</c> at <c>s·H·D</c>) into the shared query and its head weights
    /// into <paramref name="weights"/>, zero past the real heads/dims (those products must be exactly 0, never stale
    /// shared memory). Thread <paramref name="thread"/> of <see cref="Threads"/> stages dim <paramref name="thread"/> of
    /// every head (Threads = DecodeMaxDim), 16 heads at a time: 16 loads in flight before the first store. A group
    /// whose keys are all masked passes <paramref name="staged"/> = false and skips the query (the weights are staged
    /// either way, their load first, so it overlaps the caller's position lookup that <paramref name="staged"/> waits on).
    /// </summary>
    /// <remarks>
    /// Why batches: with one element per pass (its load, its store, then the next pass's load) every thread waited for 64
    /// L2 round trips in a row before its group's barrier, with a division's worth of index arithmetic (i / 128, i % 128,
    /// h / 32, h % 32) per element. The staged values, and so every score, are the same.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StageQuery(
        ArrayView<float> queries,      // [S, H, D]
        ArrayView<float> headWeights,  // [S, H]
        ArrayView<float> queryRows,    // [QueryLength] shared, out
        ArrayView<float> weights,      // [64] shared, out
        int s,
        int heads,
        int dim,
        int thread,
        bool staged)
    {
        if (thread < IndexerKernels.DecodeMaxHeads)
            weights[thread] = thread < heads ? headWeights[(long)s * heads + thread] : 0f;
        if (!staged)
            return;
        int d = thread;
        bool inside = d < dim;
        long column = (long)s * heads * dim + (inside ? d : 0); // head 0's element of this dim (in bounds when unused)
        for (int h = 0; h < IndexerKernels.DecodeMaxHeads; h += QueryBatch)
            StageHeads16(queries, queryRows, column, h, heads, dim, inside, QueryIndex(h, d));
    }

    /// <summary>Heads per batch of <see cref="StageQuery"/>: 16 divides a half's 32, so a batch's heads are one half's consecutive rows.</summary>
    private const int QueryBatch = 16;

    /// <summary>
    /// Dim <c>d</c> of heads <paramref name="h"/>..+15 (element <paramref name="column"/> + head·dim) into the shared
    /// query at <paramref name="slot"/> + k·DecodeMaxDim: all 16 loads first, then the stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StageHeads16(ArrayView<float> queries, ArrayView<float> queryRows, long column, int h, int heads, int dim, bool inside, int slot)
    {
        const int stride = IndexerKernels.DecodeMaxDim;
        float v0 = QueryValue(queries, column, h, heads, dim, inside);
        float v1 = QueryValue(queries, column, h + 1, heads, dim, inside);
        float v2 = QueryValue(queries, column, h + 2, heads, dim, inside);
        float v3 = QueryValue(queries, column, h + 3, heads, dim, inside);
        float v4 = QueryValue(queries, column, h + 4, heads, dim, inside);
        float v5 = QueryValue(queries, column, h + 5, heads, dim, inside);
        float v6 = QueryValue(queries, column, h + 6, heads, dim, inside);
        float v7 = QueryValue(queries, column, h + 7, heads, dim, inside);
        float v8 = QueryValue(queries, column, h + 8, heads, dim, inside);
        float v9 = QueryValue(queries, column, h + 9, heads, dim, inside);
        float v10 = QueryValue(queries, column, h + 10, heads, dim, inside);
        float v11 = QueryValue(queries, column, h + 11, heads, dim, inside);
        float v12 = QueryValue(queries, column, h + 12, heads, dim, inside);
        float v13 = QueryValue(queries, column, h + 13, heads, dim, inside);
        float v14 = QueryValue(queries, column, h + 14, heads, dim, inside);
        float v15 = QueryValue(queries, column, h + 15, heads, dim, inside);
        queryRows[slot] = v0;
        queryRows[slot + stride] = v1;
        queryRows[slot + 2 * stride] = v2;
        queryRows[slot + 3 * stride] = v3;
        queryRows[slot + 4 * stride] = v4;
        queryRows[slot + 5 * stride] = v5;
        queryRows[slot + 6 * stride] = v6;
        queryRows[slot + 7 * stride] = v7;
        queryRows[slot + 8 * stride] = v8;
        queryRows[slot + 9 * stride] = v9;
        queryRows[slot + 10 * stride] = v10;
        queryRows[slot + 11 * stride] = v11;
        queryRows[slot + 12 * stride] = v12;
        queryRows[slot + 13 * stride] = v13;
        queryRows[slot + 14 * stride] = v14;
        queryRows[slot + 15 * stride] = v15;
    }

    /// <summary>
    /// q[s, head, d] (element <paramref name="column"/> + head·dim), or 0 past the real heads/dims. The load is
    /// unconditional (a head past the last reads the last head's element, in bounds since heads ≥ 1) so that the 16 loads
    /// of a batch are not 16 branches; the select then zeroes it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float QueryValue(ArrayView<float> queries, long column, int head, int heads, int dim, bool inside)
    {
        float value = queries[column + (head < heads ? head : heads - 1) * dim];
        return head < heads && inside ? value : 0f;
    }

    /// <summary>
    /// One 4-dim step of a lane: its 64 sums (2 keys × 32 heads) plus the products with the keys' dims d..d+3
    /// (<paramref name="k0"/>, <paramref name="k1"/>). <paramref name="quads"/> is the shared query from the lane's
    /// first head at dim d (<c>queryRows.SubView(half·HalfStride + d)</c>): one base per step and constant offsets from
    /// it, which fold into the shared loads' addresses (indices of the whole view would cost a 64-bit multiply-add per
    /// load). 32 broadcast Float4 loads feed 256 multiply-adds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static KeyPairHeadSums Step(KeyPairHeadSums acc, ArrayView<float> quads, Float4 k0, Float4 k1)
    {
        // Fresh locals and one initializer at the end: assigning fields of the by-value parameter would take its
        // address, which ILGPU may place in local memory.
        const int rowStride = IndexerKernels.DecodeMaxDim;
        var q0 = QueryHeadQuad.Load(quads, 0, rowStride);
        var q1 = QueryHeadQuad.Load(quads, 4 * rowStride, rowStride);
        var a0 = QueryHeadQuad.MultiplyAdd(acc.A0, q0, k0);
        var b0 = QueryHeadQuad.MultiplyAdd(acc.B0, q0, k1);
        var a1 = QueryHeadQuad.MultiplyAdd(acc.A1, q1, k0);
        var b1 = QueryHeadQuad.MultiplyAdd(acc.B1, q1, k1);
        var q2 = QueryHeadQuad.Load(quads, 8 * rowStride, rowStride);
        var q3 = QueryHeadQuad.Load(quads, 12 * rowStride, rowStride);
        var a2 = QueryHeadQuad.MultiplyAdd(acc.A2, q2, k0);
        var b2 = QueryHeadQuad.MultiplyAdd(acc.B2, q2, k1);
        var a3 = QueryHeadQuad.MultiplyAdd(acc.A3, q3, k0);
        var b3 = QueryHeadQuad.MultiplyAdd(acc.B3, q3, k1);
        var q4 = QueryHeadQuad.Load(quads, 16 * rowStride, rowStride);
        var q5 = QueryHeadQuad.Load(quads, 20 * rowStride, rowStride);
        var a4 = QueryHeadQuad.MultiplyAdd(acc.A4, q4, k0);
        var b4 = QueryHeadQuad.MultiplyAdd(acc.B4, q4, k1);
        var a5 = QueryHeadQuad.MultiplyAdd(acc.A5, q5, k0);
        var b5 = QueryHeadQuad.MultiplyAdd(acc.B5, q5, k1);
        var q6 = QueryHeadQuad.Load(quads, 24 * rowStride, rowStride);
        var q7 = QueryHeadQuad.Load(quads, 28 * rowStride, rowStride);
        var a6 = QueryHeadQuad.MultiplyAdd(acc.A6, q6, k0);
        var b6 = QueryHeadQuad.MultiplyAdd(acc.B6, q6, k1);
        var a7 = QueryHeadQuad.MultiplyAdd(acc.A7, q7, k0);
        var b7 = QueryHeadQuad.MultiplyAdd(acc.B7, q7, k1);
        return new KeyPairHeadSums
        {
            A0 = a0, A1 = a1, A2 = a2, A3 = a3, A4 = a4, A5 = a5, A6 = a6, A7 = a7,
            B0 = b0, B1 = b1, B2 = b2, B3 = b3, B4 = b4, B5 = b5, B6 = b6, B7 = b7,
        };
    }

    /// <summary>
    /// Per key, Σ over the lane's 32 heads of w[h]·ReLU(scale·dot[h]), with the first key's scale
    /// <paramref name="scale0"/> and the second's <paramref name="scale1"/> (FP8 keys fold their own scale in).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static KeyPairSums WeightedSums(KeyPairHeadSums acc, ArrayView<float> weights, int half, float scale0, float scale1)
    {
        int headBase = half * HalfHeads;
        var w0 = KsVector.LoadFloat4(weights, headBase);
        var w1 = KsVector.LoadFloat4(weights, headBase + 4);
        var w2 = KsVector.LoadFloat4(weights, headBase + 8);
        var w3 = KsVector.LoadFloat4(weights, headBase + 12);
        var w4 = KsVector.LoadFloat4(weights, headBase + 16);
        var w5 = KsVector.LoadFloat4(weights, headBase + 20);
        var w6 = KsVector.LoadFloat4(weights, headBase + 24);
        var w7 = KsVector.LoadFloat4(weights, headBase + 28);
        return new KeyPairSums
        {
            First = IndexerMath.WeightedRelu(acc.A0, w0, scale0) + IndexerMath.WeightedRelu(acc.A1, w1, scale0)
                + IndexerMath.WeightedRelu(acc.A2, w2, scale0) + IndexerMath.WeightedRelu(acc.A3, w3, scale0)
                + IndexerMath.WeightedRelu(acc.A4, w4, scale0) + IndexerMath.WeightedRelu(acc.A5, w5, scale0)
                + IndexerMath.WeightedRelu(acc.A6, w6, scale0) + IndexerMath.WeightedRelu(acc.A7, w7, scale0),
            Second = IndexerMath.WeightedRelu(acc.B0, w0, scale1) + IndexerMath.WeightedRelu(acc.B1, w1, scale1)
                + IndexerMath.WeightedRelu(acc.B2, w2, scale1) + IndexerMath.WeightedRelu(acc.B3, w3, scale1)
                + IndexerMath.WeightedRelu(acc.B4, w4, scale1) + IndexerMath.WeightedRelu(acc.B5, w5, scale1)
                + IndexerMath.WeightedRelu(acc.B6, w6, scale1) + IndexerMath.WeightedRelu(acc.B7, w7, scale1),
        };
    }
}
