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
    private readonly record struct Candidate(int TokenId, double Probability);

    /// <summary>Kept tokens and their renormalized probabilities (summing to 1).</summary>
    private static Candidate[] KeptCandidates(ReadOnlySpan<float> logits, SamplingOptions options)
    {
        double inverseTemperature = 1.0 / options.Temperature;
        bool topKFilters = options.TopK > 0 && options.TopK < logits.Length;
        bool topPFilters = options.TopP < 1f;

        // The tokens top-k allows, largest first (or, without top-k, a largest-first prefix that holds the nucleus,
        // or every id in id order when top-p is off too: then nothing needs sorting).
        int[] ids;
        double? totalOverAll = null;
        if (topKFilters)
        {
            ids = TopIds(logits, options.TopK);
        }
        else if (topPFilters)
        {
            ids = NucleusSuperset(logits, inverseTemperature, options.TopP, out double total);
            totalOverAll = total;
        }
        else
        {
            ids = Enumerable.Range(0, logits.Length).ToArray();
        }

        float maxLogit = float.NegativeInfinity;
        foreach (int id in ids)
        {
            maxLogit = Math.Max(maxLogit, logits[id]);
        }
        double[] weights = SoftmaxWeights(logits, ids, inverseTemperature, maxLogit);
        // Softmax normalizer over every token top-k allows; the nucleus prefix may hold fewer, so it brings its own.
        double allowedTotal = totalOverAll ?? weights.Sum();

        // Nucleus: the shortest prefix (in descending order) whose probability reaches top-p; at least one token.
        int kept = ids.Length;
        if (topPFilters)
        {
            double cumulative = 0;
            for (int i = 0; i < ids.Length; i++)
            {
                cumulative += weights[i] / allowedTotal;
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
            candidates[i] = new Candidate(ids[i], weights[i] / keptTotal);
        }
        return candidates;
    }

    /// <summary>exp((logit − maxLogit) / T) for each id; maxLogit keeps every weight ≤ 1 (no overflow). Returns [ids].</summary>
    private static double[] SoftmaxWeights(ReadOnlySpan<float> logits, int[] ids, double inverseTemperature, float maxLogit)
    {
        var weights = new double[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            weights[i] = Math.Exp((logits[ids[i]] - (double)maxLogit) * inverseTemperature);
        }
        return weights;
    }

    /// <summary>
    /// A descending-ordered prefix of the vocabulary that surely contains the top-p nucleus, without sorting all of it:
    /// tokens with weight ≥ a cutoff form a prefix of the sorted order, so once their mass reaches top-p the nucleus ends
    /// inside them. The cutoff starts high and drops until that holds. <paramref name="total"/> is over ALL tokens.
    /// </summary>
    private static int[] NucleusSuperset(ReadOnlySpan<float> logits, double inverseTemperature, float topP, out double total)
    {
        float maxLogit = logits[ArgMax(logits)];
        var weights = new double[logits.Length]; // [vocab], relative to the largest (which has weight 1)
        total = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            weights[i] = Math.Exp((logits[i] - (double)maxLogit) * inverseTemperature);
            total += weights[i];
        }

        var selected = new List<int>();
        for (double cutoff = 1e-3; ; cutoff *= 1e-3)
        {
            selected.Clear();
            double mass = 0;
            bool lastRound = cutoff < 1e-300;
            for (int i = 0; i < weights.Length; i++)
            {
                if (weights[i] >= cutoff || lastRound)
                {
                    selected.Add(i);
                    mass += weights[i];
                }
            }
            if (mass / total >= topP || lastRound || selected.Count == logits.Length)
            {
                break;
            }
        }

        // Descending logit; OrderByDescending is stable and `selected` is in id order, so ties keep ascending ids:
        // the same order TopIds and the reference use.
        var keys = new float[selected.Count]; // [selected] logits
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = logits[selected[i]];
        }
        int[] ids = Enumerable.Range(0, keys.Length).OrderByDescending(i => keys[i]).Select(i => selected[i]).ToArray();
        return ids;
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
