using System.Numerics.Tensors;
using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// The steps of one key tile of MLA attention in the absorbed (MQA) form, run by <see cref="MlaKernels.MlaAttention"/>
/// for every key source, so sparse and dense attention run the very same float operations in the same order (DSA.md §3:
/// with every key selected the sparse layer IS dense MLA, bit for bit here).
/// </summary>
/// <remarks>
/// Layouts (L = kv_lora_rank, R = qk_rope_head_dim, both multiples of 4 for the 16-byte loads):
/// a query row per head is <c>[q_abs (L) ‖ q_pe (R)]</c>, a cache row per token is <c>[c (L) ‖ k_pe (R)]</c>, so a
/// score is one dot product of length L+R. A group owns <see cref="HeadsPerGroup"/> heads of one query and walks its
/// keys in tiles of <see cref="KeysPerTile"/>: (1) one thread per (head, key) pair computes a score, (2) one thread
/// per head folds the tile into its running max / sum (online softmax, fp32), (3) each thread owns 4 latent dims and,
/// head by head, adds <c>p·c[t]</c> over the tile's keys in registers with a 4-value read of each key's latent row (one
/// 16-byte load for an fp32 cache). The cache is any row format (<see cref="IRowFormat{TSelf}"/>: fp32, or bf16 as DeepSeek keeps it). The output accumulator
/// (<see cref="HeadsPerGroup"/> × L floats) lives in shared memory.
/// </remarks>
public static partial class MlaTile
{
    public const int HeadsPerGroup = 8;

    public const int KeysPerTile = 16;

    /// <summary>Largest kv_lora_rank the shared accumulator holds (DeepSeek-V3.2: 512).</summary>
    public const int MaxLatentDim = 512;

    /// <summary>Clears the accumulator ([HeadsPerGroup, latentDim]) and the softmax state ([HeadsPerGroup] each).</summary>
    public static void Initialize(
        ArrayView<float> accumulator, ArrayView<float> runningMax, ArrayView<float> runningSum,
        int latentDim, int thread, int threads)
    {
        for (int i = thread; i < HeadsPerGroup * latentDim; i += threads)
            accumulator[i] = 0f;
        for (int h = thread; h < HeadsPerGroup; h += threads)
        {
            runningMax[h] = float.NegativeInfinity;
            runningSum[h] = 0f;
        }
    }

    /// <summary>Step 1: tileScores[h, j] = scale·(query row of head h)·(cache row tileRows[j]); −∞ for absent pairs.</summary>
    [Intrinsic(CpuBody = nameof(ScoreTileCpu))]
    public static void ScoreTile<TCache>(
        ArrayView<float> queries, long firstQueryRow, TCache kvCache, ArrayView<int> tileRows,
        int tileKeys, int headsHere, int rowLength, float scale, ArrayView<float> tileScores, int thread, int threads)
        where TCache : struct, IRowFormat<TCache>
    {
        for (int pair = thread; pair < HeadsPerGroup * KeysPerTile; pair += threads)
        {
            int h = pair % HeadsPerGroup;
            int j = pair / HeadsPerGroup;
            float score = float.NegativeInfinity;
            if (h < headsHere && j < tileKeys)
            {
                long queryStart = (firstQueryRow + h) * rowLength;
                score = scale * kvCache.RowDot(tileRows[j], rowLength, queries, queryStart);
            }
            tileScores[h * KeysPerTile + j] = score;
        }
    }

    /// <summary><see cref="ScoreTile"/> on host threads: the format's host dot product (<c>RowDotCpu</c>) instead of its GPU
    /// body, whose view casts take a lock per call on the host (a prefill profile had a fifth of its time there).</summary>
    public static void ScoreTileCpu<TCache>(
        ArrayView<float> queries, long firstQueryRow, TCache kvCache, ArrayView<int> tileRows,
        int tileKeys, int headsHere, int rowLength, float scale, ArrayView<float> tileScores, int thread, int threads)
        where TCache : struct, IRowFormat<TCache>
    {
        for (int pair = thread; pair < HeadsPerGroup * KeysPerTile; pair += threads)
        {
            int h = pair % HeadsPerGroup;
            int j = pair / HeadsPerGroup;
            float score = float.NegativeInfinity;
            if (h < headsHere && j < tileKeys)
            {
                long queryStart = (firstQueryRow + h) * rowLength;
                score = scale * kvCache.RowDotCpu(tileRows[j], rowLength, queries, queryStart);
            }
            tileScores[h * KeysPerTile + j] = score;
        }
    }

    /// <summary>
    /// Step 2 for one head: turns the head's tile scores into probabilities relative to the new running max, and
    /// records the factor that rescales what was accumulated before this tile.
    /// </summary>
    public static void SoftmaxStep(
        ArrayView<float> tileScores, ArrayView<float> runningMax, ArrayView<float> runningSum, ArrayView<float> rescale,
        int head, int tileKeys)
    {
        int row = head * KeysPerTile;
        float previousMax = runningMax[head];
        float tileMax = float.NegativeInfinity;
        for (int j = 0; j < tileKeys; j++)
            tileMax = MathF.Max(tileMax, tileScores[row + j]);
        float newMax = MathF.Max(previousMax, tileMax);
        if (newMax == float.NegativeInfinity)
        {
            // No key yet (or a head beyond the last): nothing to add, nothing to rescale.
            rescale[head] = 1f;
            for (int j = 0; j < KeysPerTile; j++)
                tileScores[row + j] = 0f;
            return;
        }
        float alpha = MathF.Exp(previousMax - newMax);
        float tileSum = 0f;
        for (int j = 0; j < KeysPerTile; j++)
        {
            float p = j < tileKeys ? MathF.Exp(tileScores[row + j] - newMax) : 0f;
            tileScores[row + j] = p;
            tileSum += p;
        }
        runningSum[head] = runningSum[head] * alpha + tileSum;
        runningMax[head] = newMax;
        rescale[head] = alpha;
    }

    /// <summary>Step 3: accumulator[h, d] = accumulator[h, d]·rescale[h] + Σ_j p[h, j]·c[tileRows[j], d].</summary>
    /// <remarks>
    /// Each head's 4 sums stay in registers for the whole tile (one shared-memory read and write per head and tile)
    /// and the key's 4 values are read again per head (L1 hits): a loop that read-modify-wrote the shared accumulator for
    /// every (key, head) pair was the slowest step of a decode tile. The additions per element are the same, in the
    /// same order (rescale first, then the keys in tile order).
    /// </remarks>
    [Intrinsic(CpuBody = nameof(AccumulateTileCpu))]
    public static void AccumulateTile<TCache>(
        TCache kvCache, ArrayView<int> tileRows, int tileKeys, ArrayView<float> probabilities,
        ArrayView<float> rescale, ArrayView<float> accumulator, int headsHere, int latentDim, int rowLength,
        int thread, int threads)
        where TCache : struct, IRowFormat<TCache>
    {
        for (int d = thread * 4; d < latentDim; d += threads * 4)
        {
            for (int h = 0; h < headsHere; h++)
            {
                long a = (long)h * latentDim + d;
                float r = rescale[h];
                float x = accumulator[a] * r;
                float y = accumulator[a + 1] * r;
                float z = accumulator[a + 2] * r;
                float w = accumulator[a + 3] * r;
                for (int j = 0; j < tileKeys; j++)
                {
                    // Consecutive threads read consecutive 4-value pieces of the row: one coalesced sweep per key.
                    Float4 c = kvCache.Elements4(tileRows[j], rowLength, d);
                    float p = probabilities[h * KeysPerTile + j];
                    x += p * c.X;
                    y += p * c.Y;
                    z += p * c.Z;
                    w += p * c.W;
                }
                accumulator[a] = x;
                accumulator[a + 1] = y;
                accumulator[a + 2] = z;
                accumulator[a + 3] = w;
            }
        }
    }

    /// <summary>
    /// <see cref="AccumulateTile"/> on host threads: the same sums, element by element in the same order (each head's
    /// accumulator rescaled first, then p · value added key by key, a multiply then an add, as the body does), as
    /// vector operations over whole rows. The step sits between two barriers and only writes the accumulator, so the
    /// group's emulated thread 0 does every thread's share and the others return: each key's row is read (and widened,
    /// for bf16 or FP8 caches) once for all heads, where the body's 4-value pieces took a bounds-checked view read per
    /// piece, head and key (10% of a 256-token decode).
    /// </summary>
    public static void AccumulateTileCpu<TCache>(
        TCache kvCache, ArrayView<int> tileRows, int tileKeys, ArrayView<float> probabilities,
        ArrayView<float> rescale, ArrayView<float> accumulator, int headsHere, int latentDim, int rowLength,
        int thread, int threads)
        where TCache : struct, IRowFormat<TCache>
    {
        if (thread != 0)
            return;
        for (int h = 0; h < headsHere; h++)
        {
            Span<float> sums = HostSpan.Of(accumulator, (long)h * latentDim, latentDim);
            TensorPrimitives.Multiply(sums, rescale[h], sums);
        }
        for (int j = 0; j < tileKeys; j++)
        {
            ReadOnlySpan<float> values = Linear.HostRowDots.RowAsFloats(kvCache, tileRows[j], rowLength)[..latentDim];
            for (int h = 0; h < headsHere; h++)
            {
                Span<float> sums = HostSpan.Of(accumulator, (long)h * latentDim, latentDim);
                TensorPrimitives.MultiplyAdd(values, probabilities[h * KeysPerTile + j], sums, sums);
            }
        }
    }

    /// <summary>o_lat[h, d] = accumulator[h, d] / runningSum[h] (0 for a query with no key).</summary>
    public static void WriteOutput(
        ArrayView<float> accumulator, ArrayView<float> runningSum, ArrayView<float> output, long outputStart,
        int headsHere, int latentDim, int thread, int threads)
    {
        for (int i = thread; i < headsHere * latentDim; i += threads)
        {
            float sum = runningSum[i / latentDim];
            output[outputStart + i] = sum > 0f ? accumulator[i] / sum : 0f;
        }
    }

    /// <summary>
    /// A slice's result for <see cref="MlaKernels.CombineMlaSplits"/>: the unnormalized accumulator
    /// (<c>partialOutput</c> rows <c>firstRow + h</c>, L floats each) and (running max, running sum) per head.
    /// </summary>
    public static void WritePartial(
        ArrayView<float> accumulator, ArrayView<float> runningMax, ArrayView<float> runningSum,
        ArrayView<float> partialOutput, ArrayView<float> partialStats, long firstRow,
        int headsHere, int latentDim, int thread, int threads)
    {
        for (int i = thread; i < headsHere * latentDim; i += threads)
            partialOutput[firstRow * latentDim + i] = accumulator[i];
        for (int h = thread; h < headsHere; h += threads)
        {
            partialStats[(firstRow + h) * 2] = runningMax[h];
            partialStats[(firstRow + h) * 2 + 1] = runningSum[h];
        }
    }
}
