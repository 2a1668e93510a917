namespace KernelSharp.Runtime.Generation;

/// <summary>
/// Draws token ids from logits with temperature, top-k and top-p (see <see cref="SamplingOptions"/>).
/// Works on the candidate list only (top-k selection by a bounded heap), so a 129K vocabulary costs
/// O(V log K) per token instead of a full sort. <see cref="TokenSamplerReference"/> is the plain version it is tested against.
/// </summary>
public sealed class TokenSampler
{
    private readonly SamplingOptions options;
    private readonly Random random;

    public TokenSampler(SamplingOptions options)
    {
        string? invalid = options.FindInvalidSetting();
        if (invalid is not null)
        {
            throw new ArgumentOutOfRangeException(nameof(options), invalid);
        }
        this.options = options;
        Seed = options.Seed ?? Random.Shared.Next();
        random = new Random(Seed);
    }

    /// <summary>The seed actually used (drawn when the options had none), so a run can be repeated.</summary>
    public int Seed { get; }

    /// <summary>Picks the next token from one row of logits. logits: [vocab].</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.Length == 0)
        {
            throw new ArgumentException("logits are empty", nameof(logits));
        }
        if (options.IsGreedy)
        {
            return ArgMax(logits);
        }
        Candidate[] candidates = KeptCandidates(logits, options);
        double draw = random.NextDouble();
        double cumulative = 0;
        foreach (Candidate candidate in candidates)
        {
            cumulative += candidate.Probability;
            if (draw < cumulative)
            {
                return candidate.TokenId;
            }
        }
        // Rounding can leave the sum a hair under 1; the last kept token takes that sliver.
        return candidates[^1].TokenId;
    }

    /// <summary>The probability of every token under these options (0 for filtered tokens). Returns [vocab].</summary>
    public static double[] Probabilities(ReadOnlySpan<float> logits, SamplingOptions options)
    {
        var probabilities = new double[logits.Length];
        if (options.IsGreedy)
        {
            probabilities[ArgMax(logits)] = 1;
            return probabilities;
        }
        foreach (Candidate candidate in KeptCandidates(logits, options))
        {
            probabilities[candidate.TokenId] = candidate.Probability;
        }
        return probabilities;
    }

    /// <summary>Index of the largest logit; the lowest index wins a tie so greedy output is reproducible.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }
        return best;
    }

    /// <summary>A token that survived the filters and its renormalized probability.</summary>
    private readonly record struct Candidate(int TokenId, float Logit, double Probability);

    /// <summary>Kept tokens in descending probability (ties: lower id first), probabilities summing to 1.</summary>
    private static Candidate[] KeptCandidates(ReadOnlySpan<float> logits, SamplingOptions options)
    {
        int keep = options.TopK > 0 ? Math.Min(options.TopK, logits.Length) : logits.Length;
        int[] ids = TopIds(logits, keep);

        // Softmax of logit / temperature over the candidates, in double; subtracting the max avoids overflow.
        double inverseTemperature = 1.0 / options.Temperature;
        double maxScaled = logits[ids[0]] * inverseTemperature;
        var weights = new double[ids.Length];
        double total = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            weights[i] = Math.Exp(logits[ids[i]] * inverseTemperature - maxScaled);
            total += weights[i];
        }

        // Nucleus: the shortest prefix whose probability reaches top-p (at least one token).
        int kept = ids.Length;
        if (options.TopP < 1f)
        {
            double cumulative = 0;
            for (int i = 0; i < ids.Length; i++)
            {
                cumulative += weights[i] / total;
                if (cumulative >= options.TopP)
                {
                    kept = i + 1;
                    break;
                }
            }
        }

        double keptTotal = 0;
        for (int i = 0; i < kept; i++)
        {
            keptTotal += weights[i];
        }
        var candidates = new Candidate[kept];
        for (int i = 0; i < kept; i++)
        {
            candidates[i] = new Candidate(ids[i], logits[ids[i]], weights[i] / keptTotal);
        }
        return candidates;
    }

    /// <summary>The ids of the <paramref name="count"/> largest logits, largest first (ties: lower id first).</summary>
    private static int[] TopIds(ReadOnlySpan<float> logits, int count)
    {
        // Min-heap keyed by "worse" order: its root is the weakest of the current best `count`.
        var heap = new PriorityQueue<int, (float Logit, int NegatedId)>(count + 1);
        for (int id = 0; id < logits.Length; id++)
        {
            var key = (logits[id], -id);
            if (heap.Count < count)
            {
                heap.Enqueue(id, key);
            }
            else
            {
                heap.TryPeek(out _, out var weakest);
                if (IsBetter(key, weakest))
                {
                    heap.DequeueEnqueue(id, key);
                }
            }
        }
        var ids = new int[heap.Count];
        for (int i = ids.Length - 1; i >= 0; i--)
        {
            ids[i] = heap.Dequeue();
        }
        return ids;
    }

    private static bool IsBetter((float Logit, int NegatedId) a, (float Logit, int NegatedId) b)
        => a.Logit > b.Logit || (a.Logit == b.Logit && a.NegatedId > b.NegatedId);
}
