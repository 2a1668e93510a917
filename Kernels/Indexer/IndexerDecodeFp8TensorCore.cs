using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

public static partial class IndexerKernels
{
    /// <summary>Warps per group of <see cref="IndexerDecodeFp8TensorCore"/>.</summary>
    public const int DecodeTcWarps = 8;

    /// <summary>16-key tiles each warp of <see cref="IndexerDecodeFp8TensorCore"/> scores (amortizes the query staging).</summary>
    public const int DecodeTcTilesPerWarp = 2;

    /// <summary>Keys per group of <see cref="IndexerDecodeFp8TensorCore"/>.</summary>
    public const int DecodeTcGroupKeys = DecodeTcWarps * DecodeTcTilesPerWarp * 16;

    /// <summary>The only head dim <see cref="IndexerDecodeFp8TensorCore"/> serves: 4 lanes × 32 dims.</summary>
    public const int DecodeTcDim = 128;

    /// <summary>Words (2 bf16) of the staged query: [8 k-steps][64 heads][4 lane columns][2].</summary>
    private const int DecodeTcQueryWords = 8 * DecodeMaxHeads * 4 * 2;

    /// <summary>
    /// Decode-step indexer scores over the FP8 key cache on the tensor cores (<c>mma.sync m16n8k16</c> bf16 → fp32):
    /// per warp tile M = 16 keys (e4m3 → bf16, exact), N = 8 heads × 8 tiles, K = 128 in 8 steps; then ReLU, × w[h],
    /// a sum over heads and × scale·keyScale (positive factors commute with ReLU). The query is rounded to bf16.
    /// </summary>
    /// <remarks>
    /// <para><b>K order.</b> A dot product may visit the dims in any order as long as both operands agree: lane column
    /// t (= lane % 4) of k-step s holds dims <c>32t + 4s .. +3</c> (fragment k rows 2t, 2t+1 ↔ dims +0, +1; rows
    /// 2t+8, 2t+9 ↔ +2, +3). So a lane reads one 4-byte word of its key row per k-step, and the query is staged in
    /// shared memory as <c>[s][head][t]</c> pairs of words, which consecutive lanes read consecutively.</para>
    /// <para>Requires dim = 128 and heads ≤ 64 (<see cref="IndexerShapes.ValidateDecodeFp8TensorCore"/>).</para>
    /// <para>A library kernel for a model that keeps its index keys in FP8 (DeepSeek's 132 bytes per token; the runtime
    /// keeps fp32 keys), measured against PyTorch by tools/gpu/KernelBench (Kernels/README.md).</para>
    /// </remarks>
    [Kernel(Grid = "(keyCount + 255) / 256", GroupSize = "256", MaxUnroll = 8)]
    public static void IndexerDecodeFp8TensorCore(
        ArrayView<float> query,        // [H, 128] the decode token's index query after RoPE
        ArrayView<float> headWeights,  // [H] w[h]
        ArrayView<byte> keyValues,     // [T, 128] e4m3 key values
        ArrayView<float> keyScales,    // [T] one fp32 scale per key
        ArrayView<float> scores,       // [T] out
        int keyCount,
        int heads,
        float scale)
    {
        int thread = Group.IdxX;
        int lane = thread % 32;
        int warp = thread / 32;
        int row = lane / 4;      // fragment row group g: keys g and g + 8 of a tile, head g of an n-tile
        int column = lane % 4;   // fragment column t: dims 32t.. of each key, heads 2t, 2t+1 of an n-tile
        var queryWords = SharedMemory.Allocate<uint>(DecodeTcQueryWords);            // [8 k-steps][64 heads][4][2] bf16 pairs
        var weights = SharedMemory.Allocate<float>(DecodeMaxHeads);                  // [64] 0 past H
        var partials = SharedMemory.Allocate<float>(DecodeTcWarps * 16 * 4);         // [warps][16 keys][4 columns]
        var keyWords = keyValues.Cast<uint>();                                       // [T, 32] four e4m3 per word

        for (int i = thread; i < DecodeTcQueryWords; i += DecodeTcWarps * 32)
        {
            int half = i % 2;
            int t = (i / 2) % 4;
            int h = (i / 8) % DecodeMaxHeads;
            int step = i / (8 * DecodeMaxHeads);
            int d = 32 * t + 4 * step + 2 * half;
            queryWords[i] = h < heads
                ? IndexerMath.PackBf16(query[h * DecodeTcDim + d], query[h * DecodeTcDim + d + 1])
                : 0u;
        }
        if (thread < DecodeMaxHeads)
            weights[thread] = thread < heads ? headWeights[thread] : 0f;
        KsGroup.Barrier();

        for (int tile = 0; tile < DecodeTcTilesPerWarp; tile++)
        {
            int tileKey = Grid.IdxX * DecodeTcGroupKeys + (tile * DecodeTcWarps + warp) * 16;
            int keyLow = tileKey + row;
            int keyHigh = keyLow + 8;
            long wordsLow = (long)(keyLow < keyCount ? keyLow : 0) * (DecodeTcDim / 4) + 8 * column;   // first word of dims 32t..
            long wordsHigh = (long)(keyHigh < keyCount ? keyHigh : 0) * (DecodeTcDim / 4) + 8 * column;
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
                uint low = keyLow < keyCount ? keyWords[wordsLow + step] : 0u;   // dims 32t + 4·step .. +3 of key g
                uint high = keyHigh < keyCount ? keyWords[wordsHigh + step] : 0u; // ... of key g + 8
                uint a0 = IndexerMath.Fp8PairToBf16(low, 0);
                uint a1 = IndexerMath.Fp8PairToBf16(high, 0);
                uint a2 = IndexerMath.Fp8PairToBf16(low, 16);
                uint a3 = IndexerMath.Fp8PairToBf16(high, 16);
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
            if (lane < 16 && key < keyCount)
            {
                int at = (warp * 16 + lane) * 4;
                float total = partials[at] + partials[at + 1] + partials[at + 2] + partials[at + 3];
                scores[key] = total * (scale * keyScales[key]);
            }
            KsGroup.Barrier(); // partials are rewritten by the next tile
        }
    }
}
