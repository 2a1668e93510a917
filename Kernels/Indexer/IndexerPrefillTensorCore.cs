using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

public static partial class IndexerKernels
{
    /// <summary>16-key tiles each warp of <see cref="IndexerPrefillTensorCore"/> scores: more than decode's, so staging a query row is paid over 512 keys.</summary>
    public const int PrefillTcTilesPerWarp = 4;

    /// <summary>Keys per group of <see cref="IndexerPrefillTensorCore"/>.</summary>
    public const int PrefillTcGroupKeys = DecodeTcWarps * PrefillTcTilesPerWarp * 16;

    /// <summary>
    /// A prompt's indexer scores on the tensor cores: I[t, j] = Σ_h w[t, h] · ReLU(q[t, h]·k[j]) · scale for the keys
    /// j ≤ position(t), −∞ for the rest of the row up to <c>keyColumns</c>, keys in bf16 (one sequence's keys in position
    /// order, e.g. <see cref="Paging.PagingKernels.GatherCacheRowsBf16"/> of the fp32 key cache) and queries rounded to
    /// bf16. A group takes one query row and 512 keys; the mma steps are those of <see cref="IndexerDecodeFp8TensorCore"/>
    /// (M = 16 keys, N = 8 heads × 8 tiles, K = 128 in 8 steps, the same K order), with the key words read as bf16 pairs
    /// instead of converted from e4m3: lane column t of k-step s holds dims 32t + 4s .. +3, which are words 16t + 2s and
    /// 16t + 2s + 1 of a key's 64. Requires dim = 128 and heads ≤ 64 (<see cref="IndexerShapes.ValidateDecodeFp8TensorCore"/>).
    /// The mma loop is written out here as in the decode kernel, not shared: <c>MmaBf16</c> is a warp collective, which the
    /// fast CPU path can only run from a kernel body; the weighted sums after it are shared (<see cref="HeadTileSums"/>).
    /// </summary>
    [Kernel(Grid = "(keyColumns + 511) / 512", GridY = "queryCount", GroupSize = "256", MaxUnroll = 8)]
    public static void IndexerPrefillTensorCore(
        ArrayView<float> queries,      // [Q, H, 128] index queries after RoPE
        ArrayView<float> headWeights,  // [Q, H] w[t, h]
        ArrayView<ushort> keys,        // [keys, 128] bf16, key p at row p
        ArrayView<int> positions,      // [Q] each query's position: it sees keys 0..position
        ArrayView<float> scores,       // [Q, keyColumns] out
        int queryCount,
        int keyColumns,
        int heads,
        float scale)
    {
        int thread = Group.IdxX;
        int lane = thread % 32;
        int warp = thread / 32;
        int row = lane / 4;      // fragment row group g: keys g and g + 8 of a tile, head g of an n-tile
        int column = lane % 4;   // fragment column t: dims 32t.. of each key, heads 2t, 2t+1 of an n-tile
        int query = Grid.IdxY;
        int position = positions[query];
        long queryStart = (long)query * heads * DecodeTcDim;
        long scoreRow = (long)query * keyColumns;
        int groupFirstKey = Grid.IdxX * PrefillTcGroupKeys;
        if (groupFirstKey > position)
        {
            // Every key of the group is in the row's future (the upper half of a causal prompt's groups): −∞ without
            // staging the query or running the mma. The whole group leaves before any barrier.
            for (int k = thread; k < PrefillTcGroupKeys; k += DecodeTcWarps * 32)
            {
                if (groupFirstKey + k < keyColumns)
                    scores[scoreRow + groupFirstKey + k] = float.NegativeInfinity;
            }
            return;
        }
        var queryWords = SharedMemory.Allocate<uint>(DecodeTcQueryWords);            // [8 k-steps][64 heads][4][2] bf16 pairs
        var weights = SharedMemory.Allocate<float>(DecodeMaxHeads);                  // [64] 0 past H
        var partials = SharedMemory.Allocate<float>(DecodeTcWarps * 16 * 4);         // [warps][16 keys][4 columns]
        var keyWords = keys.Cast<uint>();                                            // [keys, 64] two bf16 per word
        bool vectors = KsVector.IsAligned16(keys, 0);                                // key rows (256 bytes) on 16-byte boundaries

        for (int i = thread; i < DecodeTcQueryWords; i += DecodeTcWarps * 32)
        {
            int half = i % 2;
            int t = (i / 2) % 4;
            int h = (i / 8) % DecodeMaxHeads;
            int step = i / (8 * DecodeMaxHeads);
            int d = 32 * t + 4 * step + 2 * half;
            queryWords[i] = h < heads
                ? IndexerMath.PackBf16(queries[queryStart + h * DecodeTcDim + d], queries[queryStart + h * DecodeTcDim + d + 1])
                : 0u;
        }
        if (thread < DecodeMaxHeads)
            weights[thread] = thread < heads ? headWeights[(long)query * heads + thread] : 0f;
        KsGroup.Barrier();

        for (int tile = 0; tile < PrefillTcTilesPerWarp; tile++)
        {
            int tileKey = groupFirstKey + (tile * DecodeTcWarps + warp) * 16;
            int keyLow = tileKey + row;
            int keyHigh = keyLow + 8;
            // Keys past the row's position are masked below; reading them (key 0 instead) keeps every lane in the mma.
            long wordsLow = (long)(keyLow <= position ? keyLow : 0) * (DecodeTcDim / 2) + 16 * column;
            long wordsHigh = (long)(keyHigh <= position ? keyHigh : 0) * (DecodeTcDim / 2) + 16 * column;
            // Over the 8 k-steps a lane reads words 16t .. 16t + 15 of its two keys: 4 sixteen-byte loads each, up front,
            // instead of 16 four-byte loads each inside the loop (ncu on an H100: the 4-byte form kept L1 95% busy).
            var low = KeyRowWords.Load(keyWords, wordsLow, vectors);
            var high = KeyRowWords.Load(keyWords, wordsHigh, vectors);
            var acc0 = new MmaAccumulator(0f, 0f, 0f, 0f); // heads 0..7
            var acc1 = new MmaAccumulator(0f, 0f, 0f, 0f); // heads 8..15
            var acc2 = new MmaAccumulator(0f, 0f, 0f, 0f);
            var acc3 = new MmaAccumulator(0f, 0f, 0f, 0f);
            var acc4 = new MmaAccumulator(0f, 0f, 0f, 0f);
            var acc5 = new MmaAccumulator(0f, 0f, 0f, 0f);
            var acc6 = new MmaAccumulator(0f, 0f, 0f, 0f);
            var acc7 = new MmaAccumulator(0f, 0f, 0f, 0f); // heads 56..63
            for (int step = 0; step < 8; step++)
            {
                uint a0 = low.Even(step);    // dims 32t + 4·step, +1 of key g
                uint a1 = high.Even(step);   // ... of key g + 8
                uint a2 = low.Odd(step);     // dims 32t + 4·step + 2, +3 of key g
                uint a3 = high.Odd(step);    // ... of key g + 8
                int q = ((step * DecodeMaxHeads + row) * 4 + column) * 2; // n-tile n adds 8 heads: + n·64 words
                acc0 = TensorCore.MmaBf16(new MmaBf16Fragments(acc0, a0, a1, a2, a3, queryWords[q], queryWords[q + 1]));
                acc1 = TensorCore.MmaBf16(new MmaBf16Fragments(acc1, a0, a1, a2, a3, queryWords[q + 64], queryWords[q + 65]));
                acc2 = TensorCore.MmaBf16(new MmaBf16Fragments(acc2, a0, a1, a2, a3, queryWords[q + 128], queryWords[q + 129]));
                acc3 = TensorCore.MmaBf16(new MmaBf16Fragments(acc3, a0, a1, a2, a3, queryWords[q + 192], queryWords[q + 193]));
                acc4 = TensorCore.MmaBf16(new MmaBf16Fragments(acc4, a0, a1, a2, a3, queryWords[q + 256], queryWords[q + 257]));
                acc5 = TensorCore.MmaBf16(new MmaBf16Fragments(acc5, a0, a1, a2, a3, queryWords[q + 320], queryWords[q + 321]));
                acc6 = TensorCore.MmaBf16(new MmaBf16Fragments(acc6, a0, a1, a2, a3, queryWords[q + 384], queryWords[q + 385]));
                acc7 = TensorCore.MmaBf16(new MmaBf16Fragments(acc7, a0, a1, a2, a3, queryWords[q + 448], queryWords[q + 449]));
            }

            // This lane's heads: 8n + 2t and 8n + 2t + 1 of every n-tile n; C0/C1 belong to key g, C2/C3 to key g + 8.
            var sums = new HeadTileSums(acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
            var partial = sums.WeightedRelu(weights, 2 * column);
            partials[(warp * 16 + row) * 4 + column] = partial.First;
            partials[(warp * 16 + row + 8) * 4 + column] = partial.Second;
            KsGroup.Barrier();
            int key = tileKey + lane;
            if (lane < 16 && key < keyColumns)
            {
                int at = (warp * 16 + lane) * 4;
                scores[scoreRow + key] = key <= position
                    ? (partials[at] + partials[at + 1] + partials[at + 2] + partials[at + 3]) * scale
                    : float.NegativeInfinity;
            }
            KsGroup.Barrier(); // partials are rewritten by the next tile
        }
    }
}
