namespace KernelSharp.Kernels.Attention;

/// <summary>
/// MLA in the expanded form of DSA.md §3 step 4 (what transformers computes), float64: per head
/// <c>[k_nope ‖ v] = c·W[h]ᵀ</c> from the latent, score <c>(q_nope·k_nope + q_pe·k_pe)·scale</c>, <c>o = P·V</c>.
/// The absorbed pipeline (<see cref="MlaKernels.AbsorbQuery"/> → attention → <see cref="MlaKernels.UpProjectOutput"/>)
/// must give the same numbers up to rounding.
/// </summary>
public static class MlaExpandedReference
{
    /// <summary>
    /// q: [Q, H, nope+R] per head [q_nope ‖ q_pe]; latent: [T, L]; kPe: [T, R]; kvB: [H·(nope+v), L];
    /// keys[q]: rows attended. Returns o [Q, H·v].
    /// </summary>
    public static double[] Attention(
        float[] q, float[] latent, float[] kPe, float[] kvB, IReadOnlyList<int[]> keys,
        int heads, int nopeDim, int ropeDim, int valueDim, int latentDim, float scale)
    {
        int queryCount = keys.Count;
        var output = new double[(long)queryCount * heads * valueDim];
        for (int qi = 0; qi < queryCount; qi++)
        {
            int[] rows = keys[qi];
            for (int h = 0; h < heads; h++)
            {
                long qStart = ((long)qi * heads + h) * (nopeDim + ropeDim);
                var scores = new double[rows.Length];
                double max = double.NegativeInfinity;
                for (int j = 0; j < rows.Length; j++)
                {
                    int t = rows[j];
                    double dot = 0;
                    for (int n = 0; n < nopeDim; n++)
                    {
                        dot += q[qStart + n] * Project(latent, kvB, t, (long)h * (nopeDim + valueDim) + n, latentDim);
                    }
                    for (int r = 0; r < ropeDim; r++)
                    {
                        dot += (double)q[qStart + nopeDim + r] * kPe[(long)t * ropeDim + r];
                    }
                    scores[j] = dot * scale;
                    max = Math.Max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j < rows.Length; j++)
                {
                    scores[j] = Math.Exp(scores[j] - max);
                    sum += scores[j];
                }
                for (int j = 0; j < rows.Length; j++)
                {
                    for (int v = 0; v < valueDim; v++)
                    {
                        double value = Project(latent, kvB, rows[j], (long)h * (nopeDim + valueDim) + nopeDim + v, latentDim);
                        output[((long)qi * heads + h) * valueDim + v] += scores[j] / sum * value;
                    }
                }
            }
        }
        return output;
    }

    /// <summary>Row <paramref name="wRow"/> of W applied to token t's latent: one element of k_nope or v.</summary>
    private static double Project(float[] latent, float[] kvB, int t, long wRow, int latentDim)
    {
        double sum = 0;
        for (int l = 0; l < latentDim; l++)
        {
            sum += (double)latent[(long)t * latentDim + l] * kvB[wRow * latentDim + l];
        }
        return sum;
    }
}
