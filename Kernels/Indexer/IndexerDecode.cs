using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

public static partial class IndexerKernels
{
    /// <summary>Keys one group of <see cref="IndexerDecode"/> scores.</summary>
    public const int DecodeTileKeys = 64;

    /// <summary>Dimensions of the key tile staged in shared memory per step of <see cref="IndexerDecode"/>.</summary>
    public const int DecodeChunkDims = 32;

    /// <summary>Threads per group of <see cref="IndexerDecode"/>: 16 head quads × 16 key quads.</summary>
    public const int DecodeThreads = 256;

    /// <summary>Head quads (4 heads each) of <see cref="IndexerDecode"/>'s 64-head query tile.</summary>
    private const int DecodeHeadQuads = DecodeMaxHeads / 4;

    /// <summary>Key quads (4 consecutive keys each) of one <see cref="IndexerDecode"/> tile.</summary>
    private const int DecodeKeyQuads = DecodeTileKeys / 4;

    /// <summary>
    /// Decode-step indexer scores over the fp32 key cache, as a small GEMM: scores of the 64 heads (M) for a tile of 64
    /// keys (N) over the head dim (K), then ReLU, × w[h] and a sum over heads. The query sits in shared memory
    /// transposed (<c>[D][64 heads]</c>, 32 KB, zero past the real heads/dims), the key tile is staged 32 dims at a
    /// time transposed (<c>[32 dims][64 keys]</c>) from 16-byte global loads, and each thread keeps a 4 heads × 4 keys
    /// block of dot products in registers (four <see cref="Float4"/>s): per dim it reads one Float4 of query and one
    /// of keys from shared memory and does 16 multiply-adds. The 16 head quads' partial sums meet in shared memory.
    /// Everything is fp32 (only the summation order differs from <see cref="IndexerScores"/>).
    /// A library kernel: the runtime's decode step runs <see cref="IndexerScoresWarpKeys"/>, faster on the H200; this
    /// scheme is kept measured beside it (tools/gpu/KernelBench, Kernels/README.md).
    /// </summary>
    /// <remarks>Requires heads ≤ 64, dim ≤ 128 and a multiple of 4, and <paramref name="keys"/> starting on a 16-byte
    /// boundary (a cache row 0); see <see cref="IndexerShapes.ValidateDecodeFp32"/>.</remarks>
    [Kernel(Grid = "(keyCount + 63) / 64", GroupSize = "256", MaxUnroll = 32)]
    public static void IndexerDecode(
        ArrayView<float> query,        // [H, D] the decode token's index query after RoPE
        ArrayView<float> headWeights,  // [H] w[h]
        ArrayView<float> keys,         // [T, D] fp32 key cache, 16-byte aligned
        ArrayView<float> scores,       // [T] out
        int keyCount,
        int heads,
        int dim,
        float scale)
    {
        int thread = Group.IdxX;
        int headQuad = thread / DecodeKeyQuads;  // heads 4·headQuad .. +3
        int keyQuad = thread % DecodeKeyQuads;   // tile keys 4·keyQuad .. +3
        int firstKey = Grid.IdxX * DecodeTileKeys;
        var queryByDim = SharedMemory.Allocate<float>(DecodeMaxDim * DecodeMaxHeads);     // [128 dims][64 heads]
        var keyTile = SharedMemory.Allocate<float>(DecodeChunkDims * DecodeTileKeys);     // [32 dims][64 keys]
        var weights = SharedMemory.Allocate<float>(DecodeMaxHeads);                       // [64 heads], 0 past H
        var partials = SharedMemory.Allocate<float>(DecodeHeadQuads * DecodeTileKeys);    // [16 head quads][64 keys]

        // Zero past the real heads and dims: those products must be exactly 0 (never stale shared memory).
        for (int i = thread; i < DecodeMaxDim * DecodeMaxHeads; i += DecodeThreads)
        {
            int d = i / DecodeMaxHeads;
            int h = i % DecodeMaxHeads;
            queryByDim[i] = h < heads && d < dim ? query[h * dim + d] : 0f;
        }
        if (thread < DecodeMaxHeads)
            weights[thread] = thread < heads ? headWeights[thread] : 0f;

        var acc0 = new Float4(0f, 0f, 0f, 0f); // heads 4·headQuad..+3 · key 4·keyQuad
        var acc1 = new Float4(0f, 0f, 0f, 0f); // ... · key 4·keyQuad + 1
        var acc2 = new Float4(0f, 0f, 0f, 0f); // ... · key 4·keyQuad + 2
        var acc3 = new Float4(0f, 0f, 0f, 0f); // ... · key 4·keyQuad + 3
        for (int d0 = 0; d0 < dim; d0 += DecodeChunkDims)
        {
            KsGroup.Barrier(); // the query is staged / the previous chunk is consumed
            // 64 keys × 8 dim quads = 512 16-byte loads, two per thread; consecutive threads take consecutive keys
            // so the transposed scalar stores hit 32 different banks.
            for (int i = thread; i < DecodeTileKeys * DecodeChunkDims / 4; i += DecodeThreads)
            {
                int key = i % DecodeTileKeys;
                int quad = i / DecodeTileKeys;
                int t = firstKey + key;
                int d = d0 + 4 * quad;
                var v = t < keyCount && d < dim ? KsVector.LoadFloat4(keys, (long)t * dim + d) : new Float4(0f, 0f, 0f, 0f);
                int at = 4 * quad * DecodeTileKeys + key;
                keyTile[at] = v.X;
                keyTile[at + DecodeTileKeys] = v.Y;
                keyTile[at + 2 * DecodeTileKeys] = v.Z;
                keyTile[at + 3 * DecodeTileKeys] = v.W;
            }
            KsGroup.Barrier();
            for (int dd = 0; dd < DecodeChunkDims; dd++)
            {
                var q = KsVector.LoadFloat4(queryByDim, (d0 + dd) * DecodeMaxHeads + 4 * headQuad);
                var k = KsVector.LoadFloat4(keyTile, dd * DecodeTileKeys + 4 * keyQuad);
                acc0 = IndexerMath.MultiplyAdd(acc0, q, k.X);
                acc1 = IndexerMath.MultiplyAdd(acc1, q, k.Y);
                acc2 = IndexerMath.MultiplyAdd(acc2, q, k.Z);
                acc3 = IndexerMath.MultiplyAdd(acc3, q, k.W);
            }
        }

        var w = KsVector.LoadFloat4(weights, 4 * headQuad);
        int row = headQuad * DecodeTileKeys + 4 * keyQuad;
        partials[row] = IndexerMath.WeightedRelu(acc0, w, scale);
        partials[row + 1] = IndexerMath.WeightedRelu(acc1, w, scale);
        partials[row + 2] = IndexerMath.WeightedRelu(acc2, w, scale);
        partials[row + 3] = IndexerMath.WeightedRelu(acc3, w, scale);
        KsGroup.Barrier();
        if (thread < DecodeTileKeys && firstKey + thread < keyCount)
        {
            float total = 0f;
            for (int quad = 0; quad < DecodeHeadQuads; quad++)
                total += partials[quad * DecodeTileKeys + thread];
            scores[firstKey + thread] = total;
        }
    }
}
