namespace KernelSharp.Kernels.Moe;

/// <summary>
/// Reference of the MoE kernels in float64, without any permutation: each (token, k) pair runs its expert
/// directly, and the layer output is <c>Σ_k w·Expert_k(x) + Shared(x)</c>.
/// </summary>
public static class MoeLayerReference
{
    /// <summary>
    /// One SwiGLU expert on one token. x: [N, H]; gate/up: [E, I, H] and down: [E, H, I] as floats (dequantized).
    /// Returns [H].
    /// </summary>
    public static double[] Expert(float[] x, int token, int expert, float[] gate, float[] up, float[] down, int hidden, int intermediate)
    {
        var activation = new double[intermediate];
        for (int i = 0; i < intermediate; i++)
        {
            double g = 0;
            double u = 0;
            long w = ((long)expert * intermediate + i) * hidden;
            for (int h = 0; h < hidden; h++)
            {
                double xv = x[(long)token * hidden + h];
                g += gate[w + h] * xv;
                u += up[w + h] * xv;
            }
            activation[i] = g / (1 + Math.Exp(-g)) * u;
        }
        var output = new double[hidden];
        for (int h = 0; h < hidden; h++)
        {
            long w = ((long)expert * hidden + h) * intermediate;
            double sum = 0;
            for (int i = 0; i < intermediate; i++)
            {
                sum += down[w + i] * activation[i];
            }
            output[h] = sum;
        }
        return output;
    }

    /// <summary>The expert output of every pair p = token·K + k. Returns [N·K, H] in pair order.</summary>
    public static double[] PairOutputs(float[] x, int[] expertIds, int topk, float[] gate, float[] up, float[] down, int hidden, int intermediate)
    {
        var outputs = new double[(long)expertIds.Length * hidden];
        for (int p = 0; p < expertIds.Length; p++)
        {
            Expert(x, p / topk, expertIds[p], gate, up, down, hidden, intermediate).CopyTo(outputs, (long)p * hidden);
        }
        return outputs;
    }

    /// <summary>y [N, H] = Σ_k weights[n,k]·pairOutputs[n·K+k] + shared[n].</summary>
    public static double[] Combine(double[] pairOutputs, float[] weights, float[] shared, int tokenCount, int hidden, int topk)
    {
        var y = new double[(long)tokenCount * hidden];
        for (int n = 0; n < tokenCount; n++)
        {
            for (int h = 0; h < hidden; h++)
            {
                double sum = shared[(long)n * hidden + h];
                for (int k = 0; k < topk; k++)
                {
                    sum += weights[n * topk + k] * pairOutputs[((long)n * topk + k) * hidden + h];
                }
                y[(long)n * hidden + h] = sum;
            }
        }
        return y;
    }
}
