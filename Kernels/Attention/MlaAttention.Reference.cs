using KernelSharp.Kernels.Paging;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Reference of <see cref="MlaKernels.MlaAttention"/> (every key source: the keys of a query as one list) in float64:
/// for each query and head, softmax over its keys of <c>scale·[q_abs ‖ q_pe]·[c ‖ k_pe]</c>, then <c>o_lat = Σ p·c</c>.
/// </summary>
public static class MlaAttentionReference
{
    /// <summary>
    /// queries: [Q, H, L+R]; kvCache: [Tc, L+R]; keys[q]: the cache rows query q attends.
    /// Returns o_lat [Q, H, L] (zeros for a query with no key).
    /// </summary>
    public static double[] Absorbed(
        float[] queries, float[] kvCache, IReadOnlyList<int[]> keys, int heads, int latentDim, int ropeDim, float scale)
    {
        int rowLength = latentDim + ropeDim;
        int queryCount = keys.Count;
        var output = new double[(long)queryCount * heads * latentDim];
        for (int q = 0; q < queryCount; q++)
        {
            int[] rows = keys[q];
            for (int h = 0; h < heads; h++)
            {
                long queryStart = ((long)q * heads + h) * rowLength;
                var scores = new double[rows.Length];
                double max = double.NegativeInfinity;
                for (int j = 0; j < rows.Length; j++)
                {
                    double dot = 0;
                    for (int e = 0; e < rowLength; e++)
                    {
                        dot += (double)queries[queryStart + e] * kvCache[(long)rows[j] * rowLength + e];
                    }
                    scores[j] = scale * dot;
                    max = Math.Max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j < rows.Length; j++)
                {
                    scores[j] = Math.Exp(scores[j] - max);
                    sum += scores[j];
                }
                long outputStart = ((long)q * heads + h) * latentDim;
                for (int j = 0; j < rows.Length; j++)
                {
                    for (int d = 0; d < latentDim; d++)
                    {
                        output[outputStart + d] += scores[j] / sum * kvCache[(long)rows[j] * rowLength + d];
                    }
                }
            }
        }
        return output;
    }

    /// <summary>The causal key lists of the dense path: query q sees rows 0..positions[q].</summary>
    public static int[][] CausalKeys(IReadOnlyList<int> positions) =>
        positions.Select(p => Enumerable.Range(0, p + 1).ToArray()).ToArray();

    /// <summary>The key lists of the dense path over a paged cache: query q sees the cache rows of its keys 0..Position(q).</summary>
    public static int[][] CausalKeys(KeyPagesReference pages) =>
        Enumerable.Range(0, pages.Rows).Select(pages.VisibleRows).ToArray();
}
