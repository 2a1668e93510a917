namespace KernelSharp.Runtime.Generation;

/// <summary>
/// The obviously-correct definition of the sampling distribution that <see cref="TokenSampler"/> must match:
/// every step written as a plain loop over the whole vocabulary, in double precision, no heaps, no shortcuts.
/// </summary>
public static class TokenSamplerReference
{
    /// <summary>The probability of each token under the options. logits: [vocab]; returns [vocab].</summary>
    public static double[] Probabilities(IReadOnlyList<float> logits, SamplingOptions options)
    {
        int vocab = logits.Count;
        var probabilities = new double[vocab];

        // Rank of a token = how many tokens come before it (higher logit, or equal logit and lower id).
        var rank = new int[vocab];
        for (int i = 0; i < vocab; i++)
        {
            for (int j = 0; j < vocab; j++)
            {
                if (logits[j] > logits[i] || (logits[j] == logits[i] && j < i))
                {
                    rank[i]++;
                }
            }
        }

        if (options.Temperature == 0f)
        {
            for (int i = 0; i < vocab; i++)
            {
                probabilities[i] = rank[i] == 0 ? 1 : 0;
            }
            return probabilities;
        }

        // Temperature, then top-k: tokens ranked below K are dropped.
        int topK = options.TopK == 0 ? vocab : options.TopK;
        var weight = new double[vocab];
        double total = 0;
        for (int i = 0; i < vocab; i++)
        {
            if (rank[i] < topK)
            {
                weight[i] = Math.Exp((double)logits[i] / options.Temperature);
                total += weight[i];
            }
        }

        // Top-p: a token stays when the probability of the tokens ranked before it is still below P.
        double keptTotal = 0;
        var kept = new bool[vocab];
        for (int i = 0; i < vocab; i++)
        {
            if (weight[i] == 0)
            {
                continue;
            }
            double before = 0;
            for (int j = 0; j < vocab; j++)
            {
                if (rank[j] < rank[i])
                {
                    before += weight[j] / total;
                }
            }
            kept[i] = options.TopP >= 1f || before < options.TopP;
            if (kept[i])
            {
                keptTotal += weight[i];
            }
        }

        // Min-p: a kept token stays when its probability is at least MinP times the largest probability.
        double largest = weight.Max();
        for (int i = 0; i < vocab; i++)
        {
            if (kept[i] && weight[i] < options.MinP * largest)
            {
                kept[i] = false;
                keptTotal -= weight[i];
            }
        }
        for (int i = 0; i < vocab; i++)
        {
            probabilities[i] = kept[i] ? weight[i] / keptTotal : 0;
        }
        return probabilities;
    }
}
