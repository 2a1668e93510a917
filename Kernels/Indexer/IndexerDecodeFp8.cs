using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

public static partial class IndexerKernels
{
    /// <summary>Warps per group of <see cref="IndexerDecodeFp8"/>.</summary>
    public const int DecodeWarps = 4;

    /// <summary>Consecutive keys each warp scores in <see cref="IndexerDecodeFp8"/>.</summary>
    public const int DecodeKeysPerWarp = 8;

    /// <summary>Keys per group of <see cref="IndexerDecodeFp8"/>.</summary>
    public const int DecodeKeysPerGroup = DecodeWarps * DecodeKeysPerWarp;

    /// <summary>Largest index_n_heads × index_head_dim the decode kernel's shared query tile holds (DeepSeek-V3.2: 64 × 128).</summary>
    public const int DecodeMaxHeads = 64;

    public const int DecodeMaxDim = 128;

    /// <summary>
    /// Decode-step indexer scores over an FP8 key cache: one query (the newest token, which sees every cached key)
    /// against T keys. A group stages the query in shared memory (row stride dim+1, so lanes reading different heads
    /// hit different banks); each warp takes a block of consecutive keys, its lanes split the heads (two per lane
    /// for DeepSeek's 64), and one warp sum per key gives the score. The key row (dim bytes) is read by all lanes of
    /// the warp at once (a broadcast).
    /// A library kernel for a model that keeps its index keys in FP8 (the runtime keeps fp32 keys); unlike
    /// <see cref="IndexerDecodeFp8TensorCore"/> it runs on every backend (Kernels/README.md).
    /// </summary>
    [Kernel(Grid = "(keyCount + 31) / 32", GroupSize = "128")]
    public static void IndexerDecodeFp8(
        ArrayView<float> query,        // [H, D] the decode token's index query after RoPE
        ArrayView<float> headWeights,  // [H] w[h]
        ArrayView<byte> keyValues,     // [T, D] e4m3 key values
        ArrayView<float> keyScales,    // [T] one fp32 scale per key
        ArrayView<float> scores,       // [T] out
        int keyCount,
        int heads,
        int dim,
        float scale)
    {
        int thread = Group.IdxX;
        int lane = KsWarp.LaneIdx;
        int warp = thread / KsWarp.Size;
        int paddedDim = dim + 1;
        var sharedQuery = SharedMemory.Allocate<float>(DecodeMaxHeads * (DecodeMaxDim + 1)); // [H, dim+1]
        for (int i = thread; i < heads * dim; i += Group.DimX)
            sharedQuery[(i / dim) * paddedDim + i % dim] = query[i];
        KsGroup.Barrier();

        int firstKey = Grid.IdxX * DecodeKeysPerGroup + warp * DecodeKeysPerWarp;
        for (int step = 0; step < DecodeKeysPerWarp; step++)
        {
            int t = firstKey + step;
            float partial = 0f;
            if (t < keyCount)
            {
                float keyScale = scale * keyScales[t];
                long keyStart = (long)t * dim;
                // Each lane owns heads lane and lane+32 of every 64-head block, so each key byte is decoded once
                // per lane and used for both of its heads.
                for (int headBlock = 0; headBlock < heads; headBlock += 2 * KsWarp.Size)
                {
                    int h0 = headBlock + lane;
                    int h1 = h0 + KsWarp.Size;
                    int row0 = (h0 < heads ? h0 : 0) * paddedDim;
                    int row1 = (h1 < heads ? h1 : 0) * paddedDim;
                    float dot0 = 0f;
                    float dot1 = 0f;
                    for (int d = 0; d < dim; d++)
                    {
                        float k = Fp8E4M3.ToFloat(keyValues[keyStart + d]);
                        dot0 += sharedQuery[row0 + d] * k;
                        dot1 += sharedQuery[row1 + d] * k;
                    }
                    if (h0 < heads)
                        partial += headWeights[h0] * IndexerMath.Relu(keyScale * dot0);
                    if (h1 < heads)
                        partial += headWeights[h1] * IndexerMath.Relu(keyScale * dot1);
                }
            }
            var total = KsWarp.Sum(partial);
            if (lane == 0 && t < keyCount)
                scores[t] = total;
        }
    }
}
