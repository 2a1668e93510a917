using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// The tile steps that read the cache, for a latent cache stored in bf16 (<c>[Tc, L+R]</c> bf16 bits, half the bytes
/// of fp32: DeepSeek's own cache precision). Scores and accumulation stay fp32; the softmax step is shared.
/// </summary>
public static partial class MlaTile
{
    /// <summary>Step 1 over a bf16 cache: tileScores[h, j] = scale·(query row of head h)·bf16(cache row tileRows[j]).</summary>
    public static void ScoreTile(
        ArrayView<float> queries, long firstQueryRow, ArrayView<ushort> kvCache, ArrayView<int> tileRows,
        int tileKeys, int headsHere, int rowLength, float scale, ArrayView<float> tileScores, int thread, int threads)
    {
        for (int pair = thread; pair < HeadsPerGroup * KeysPerTile; pair += threads)
        {
            int h = pair % HeadsPerGroup;
            int j = pair / HeadsPerGroup;
            float score = float.NegativeInfinity;
            if (h < headsHere && j < tileKeys)
            {
                long queryStart = (firstQueryRow + h) * rowLength;
                long keyStart = (long)tileRows[j] * rowLength;
                score = scale * KsVector.DotBf16(kvCache, keyStart, queries, queryStart, rowLength);
            }
            tileScores[h * KeysPerTile + j] = score;
        }
    }

    /// <summary>Step 3 over a bf16 cache: accumulator[h, d] = accumulator[h, d]·rescale[h] + Σ_j p[h, j]·bf16(c[tileRows[j], d]).</summary>
    public static void AccumulateTile(
        ArrayView<ushort> kvCache, ArrayView<int> tileRows, int tileKeys, ArrayView<float> probabilities,
        ArrayView<float> rescale, ArrayView<float> accumulator, int headsHere, int latentDim, int rowLength,
        int thread, int threads)
    {
        for (int d = thread * 4; d < latentDim; d += threads * 4)
        {
            for (int h = 0; h < headsHere; h++)
            {
                long a = (long)h * latentDim + d;
                float r = rescale[h];
                accumulator[a] *= r;
                accumulator[a + 1] *= r;
                accumulator[a + 2] *= r;
                accumulator[a + 3] *= r;
            }
            for (int j = 0; j < tileKeys; j++)
            {
                // Consecutive threads read consecutive 8-byte pieces of the row: one coalesced sweep per key.
                long start = (long)tileRows[j] * rowLength + d;
                float c0 = Bf16.ToFloat(kvCache[start]);
                float c1 = Bf16.ToFloat(kvCache[start + 1]);
                float c2 = Bf16.ToFloat(kvCache[start + 2]);
                float c3 = Bf16.ToFloat(kvCache[start + 3]);
                for (int h = 0; h < headsHere; h++)
                {
                    float p = probabilities[h * KeysPerTile + j];
                    long a = (long)h * latentDim + d;
                    accumulator[a] += p * c0;
                    accumulator[a + 1] += p * c1;
                    accumulator[a + 2] += p * c2;
                    accumulator[a + 3] += p * c3;
                }
            }
        }
    }
}
