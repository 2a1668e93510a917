namespace KernelSharp.Kernels.Sampling;

/// <summary>Reference of <see cref="ArgmaxKernels"/>: per row, the first index of the largest value (NaN ignored; 0 when nothing beats −∞).</summary>
public static class ArgmaxReference
{
    /// <summary>logits: [rows, vocab] → [rows].</summary>
    public static int[] Argmax(float[] logits, int rows, int vocab)
    {
        var result = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            float best = float.NegativeInfinity;
            int bestIndex = 0;
            for (int i = 0; i < vocab; i++)
            {
                float v = logits[(long)r * vocab + i];
                if (v > best)
                {
                    best = v;
                    bestIndex = i;
                }
            }
            result[r] = bestIndex;
        }
        return result;
    }
}
