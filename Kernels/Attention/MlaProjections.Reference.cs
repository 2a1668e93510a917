namespace KernelSharp.Kernels.Attention;

/// <summary>Reference of <see cref="MlaProjections"/> in float64 (W = kv_b_proj.weight [H·(nope+v), L]).</summary>
public static class MlaProjectionsReference
{
    /// <summary>q: [Q, H, nope+R] → queries [Q, H, L+R] = [q_nope·W[h,:nope,:] ‖ q_pe].</summary>
    public static double[] AbsorbQuery(float[] q, float[] kvB, int queryCount, int heads, int nopeDim, int ropeDim, int valueDim, int latentDim)
    {
        var queries = new double[(long)queryCount * heads * (latentDim + ropeDim)];
        for (int row = 0; row < queryCount * heads; row++)
        {
            int h = row % heads;
            long qStart = (long)row * (nopeDim + ropeDim);
            long outStart = (long)row * (latentDim + ropeDim);
            for (int l = 0; l < latentDim; l++)
            {
                double sum = 0;
                for (int n = 0; n < nopeDim; n++)
                {
                    sum += (double)q[qStart + n] * kvB[((long)h * (nopeDim + valueDim) + n) * latentDim + l];
                }
                queries[outStart + l] = sum;
            }
            for (int r = 0; r < ropeDim; r++)
            {
                queries[outStart + latentDim + r] = q[qStart + nopeDim + r];
            }
        }
        return queries;
    }

    /// <summary>
    /// <see cref="AbsorbQuery"/> with the q_pe part rotated first (interleaved pairs, query i at table row positions[i]):
    /// the rope reference applied to q, then the absorb reference.
    /// </summary>
    public static double[] AbsorbQueryRope(float[] q, int[] positions, float[] cos, float[] sin, float[] kvB,
        int queryCount, int heads, int nopeDim, int ropeDim, int valueDim, int latentDim)
    {
        var queries = AbsorbQuery(q, kvB, queryCount, heads, nopeDim, ropeDim, valueDim, latentDim);
        var rotated = Rope.RopeReference.ApplyInterleaved(q, positions, cos, sin, heads, heads * (nopeDim + ropeDim), nopeDim + ropeDim, nopeDim, ropeDim);
        for (int row = 0; row < queryCount * heads; row++)
        {
            for (int r = 0; r < ropeDim; r++)
            {
                queries[(long)row * (latentDim + ropeDim) + latentDim + r] = rotated[(long)row * (nopeDim + ropeDim) + nopeDim + r];
            }
        }
        return queries;
    }

    /// <summary>latentOutput: [Q, H, L] → [Q, H·v], o[h] = o_lat[h]·W[h, nope:, :]ᵀ.</summary>
    public static double[] UpProjectOutput(float[] latentOutput, float[] kvB, int queryCount, int heads, int nopeDim, int valueDim, int latentDim)
    {
        var output = new double[(long)queryCount * heads * valueDim];
        for (int row = 0; row < queryCount * heads; row++)
        {
            int h = row % heads;
            for (int v = 0; v < valueDim; v++)
            {
                double sum = 0;
                long wStart = ((long)h * (nopeDim + valueDim) + nopeDim + v) * latentDim;
                for (int l = 0; l < latentDim; l++)
                {
                    sum += (double)latentOutput[(long)row * latentDim + l] * kvB[wStart + l];
                }
                output[(long)row * valueDim + v] = sum;
            }
        }
        return output;
    }
}
