namespace KernelSharp.Kernels.Sampling;

/// <summary>
/// Reference of <see cref="SampleKernels"/>, written the textbook way (sort, cumulate, walk):
/// p ∝ exp((logit − max) / temperature); top-k keeps every logit ≥ the k-th largest (ties at the boundary are all
/// kept); top-p then keeps, in descending order, tokens until their mass reaches top_p of the kept mass (again keeping
/// every token equal to the last one taken); the token is the first index, in vocabulary order, where the running
/// sum of kept probabilities exceeds uniform × kept mass.
/// </summary>
public static class SampleReference
{
    /// <summary>logits: [vocab] one row; topK ≤ 0 or ≥ vocab disables top-k; topP ≥ 1 disables top-p; uniform in [0, 1).</summary>
    public static int Sample(ReadOnlySpan<float> logits, float temperature, int topK, float topP, float uniform)
    {
        int vocab = logits.Length;
        float max = float.NegativeInfinity;
        foreach (float v in logits)
        {
            max = Math.Max(max, v);
        }
        var probability = new double[vocab];
        for (int i = 0; i < vocab; i++)
        {
            probability[i] = Math.Exp((logits[i] - (double)max) / temperature);
        }

        int[] order = Enumerable.Range(0, vocab).ToArray();
        float[] keys = logits.ToArray();
        Array.Sort(keys, order);
        Array.Reverse(order); // descending by logit

        float threshold = float.NegativeInfinity;
        if (topK > 0 && topK < vocab)
        {
            threshold = logits[order[topK - 1]];
        }
        double keptMass = 0;
        for (int i = 0; i < vocab; i++)
        {
            if (logits[i] >= threshold)
            {
                keptMass += probability[i];
            }
        }
        if (topP < 1)
        {
            double running = 0;
            foreach (int i in order)
            {
                if (logits[i] < threshold)
                {
                    break;
                }
                running += probability[i];
                if (running >= topP * keptMass)
                {
                    threshold = logits[i];
                    break;
                }
            }
        }

        double finalMass = 0;
        for (int i = 0; i < vocab; i++)
        {
            if (logits[i] >= threshold)
            {
                finalMass += probability[i];
            }
        }
        double target = uniform * finalMass;
        double cumulative = 0;
        int lastKept = 0;
        for (int i = 0; i < vocab; i++)
        {
            if (logits[i] >= threshold)
            {
                cumulative += probability[i];
                lastKept = i;
                if (cumulative > target)
                {
                    return i;
                }
            }
        }
        return lastKept;
    }
}
