using KernelSharp.Kernels.Paging;

namespace KernelSharp.Kernels.Indexer;

/// <summary>
/// Reference of the indexer score kernels: <c>I[s,t] = Σ_h w[s,h]·ReLU(scale·q[s,h]·k[t])</c> in float64, −∞ for
/// keys with <c>t &gt; pages.Position(s)</c>; key t of query s is row <c>pages.CacheRow(s, t)</c> of <c>keys</c>. Quantized caches are compared by passing their dequantized keys
/// (<see cref="IndexKeyCacheReference.DequantizeFp8"/>; for FP8 the scale factors out of the dot product, so this is
/// the same math).
/// </summary>
public static class IndexerScoresReference
{
    /// <summary>queries: [S, H, D]; headWeights: [S, H]; keys: [cache rows, D]; returns [S, keyCount].</summary>
    public static double[] Scores(
        float[] queries, float[] headWeights, float[] keys,
        int queryCount, int keyCount, int heads, int dim, float scale, KeyPagesReference pages)
    {
        var scores = new double[(long)queryCount * keyCount];
        for (int s = 0; s < queryCount; s++)
        {
            for (int t = 0; t < keyCount; t++)
            {
                if (t > pages.Position(s))
                {
                    scores[(long)s * keyCount + t] = double.NegativeInfinity;
                    continue;
                }
                long row = pages.CacheRow(s, t);
                double total = 0;
                for (int h = 0; h < heads; h++)
                {
                    double dot = 0;
                    for (int d = 0; d < dim; d++)
                    {
                        dot += (double)queries[((long)s * heads + h) * dim + d] * keys[row * dim + d];
                    }
                    total += headWeights[(long)s * heads + h] * Math.Max(0.0, scale * dot);
                }
                scores[(long)s * keyCount + t] = total;
            }
        }
        return scores;
    }
}
