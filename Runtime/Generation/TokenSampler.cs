using System.Numerics.Tensors;

namespace KernelSharp.Runtime.Generation;

/// <summary>
/// Draws token ids from logits with temperature, top-k and top-p (see <see cref="SamplingOptions"/>).
/// A 129K vocabulary is never fully sorted: top-k selects with a bounded heap that most tokens skip, top-p sorts only a
/// prefix known to hold the nucleus, and without filters the draw scans the weights in id order.
/// <see cref="TokenSamplerReference"/> is the plain definition it is tested against.
/// </summary>
public sealed class TokenSampler
{
    private readonly SamplingOptions options;
    private readonly Random random;

    /// <summary>The weight of every token [vocab], reused by each draw: a new 1 MB array per token (129K doubles) would land
    /// on the large-object heap and bring full garbage collections at decode rates.</summary>
    private double[] allWeights = [];

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
        if (allWeights.Length != logits.Length)
        {
            allWeights = new double[logits.Length];
        }
        Distribution kept = KeptDistribution(logits, options, allWeights);
        double target = random.NextDouble() * kept.Total;
        double cumulative = 0;
        for (int i = 0; i < kept.Count; i++)
        {
            cumulative += kept.Weights[i];
            if (target < cumulative)
            {
                return kept.TokenAt(i);
            }
        }
        // Rounding can leave the running sum a hair under the total; the last kept token takes that sliver.
        return kept.TokenAt(kept.Count - 1);
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
        Distribution kept = KeptDistribution(logits, options, new double[logits.Length]);
        for (int i = 0; i < kept.Count; i++)
        {
            probabilities[kept.TokenAt(i)] = kept.Weights[i] / kept.Total;
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

    /// <summary>
    /// The tokens that survived the filters with unnormalized weights: position i holds token <c>Ids[i]</c> (or token i
    /// when <c>Ids</c> is null: nothing was filtered) with weight <c>Weights[i]</c>; positions ≥ Count are cut off.
    /// </summary>
    private readonly record struct Distribution(int[]? Ids, double[] Weights, int Count, double Total)
    {
        public int TokenAt(int position) => Ids is null ? position : Ids[position];
    }

    /// <param name="allWeights">[vocab] scratch for the weights of every token; the distribution may point into it.</param>
    private static Distribution KeptDistribution(ReadOnlySpan<float> logits, SamplingOptions options, double[] allWeights)
        => WithMinP(FilteredDistribution(logits, options, allWeights), options.MinP);

    /// <summary>
    /// Min-p keeps weights ≥ MinP × the largest. Every weight here is relative to the largest logit (which is 1), and the
    /// largest token survives every filter, so the cutoff is MinP itself; a largest-first list is cut to a prefix.
    /// </summary>
    private static Distribution WithMinP(Distribution kept, float minP)
    {
        if (minP <= 0f)
        {
            return kept;
        }
        if (kept.Ids is null)
        {
            var ids = new List<int>();
            var weights = new List<double>();
            for (int i = 0; i < kept.Count; i++)
            {
                if (kept.Weights[i] >= minP)
                {
                    ids.Add(i);
                    weights.Add(kept.Weights[i]);
                }
            }
            return new Distribution([.. ids], [.. weights], ids.Count, weights.Sum());
        }
        int count = 1;
        double total = kept.Weights[0];
        while (count < kept.Count && kept.Weights[count] >= minP)
        {
            total += kept.Weights[count];
            count++;
        }
        return new Distribution(kept.Ids, kept.Weights, count, total);
    }

    private static Distribution FilteredDistribution(ReadOnlySpan<float> logits, SamplingOptions options, double[] allWeights)
    {
        double inverseTemperature = 1.0 / options.Temperature;
        if (options.TopK > 0 && options.TopK < logits.Length)
        {
            // top-k first (a short list, largest first), then top-p within it.
            int[] ids = TopIds(logits, options.TopK);
            var weights = new double[ids.Length]; // [k], relative to the largest
            for (int i = 0; i < ids.Length; i++)
            {
                weights[i] = Math.Exp((logits[ids[i]] - (double)logits[ids[0]]) * inverseTemperature);
            }
            return Nucleus(ids, weights, weights.Sum(), options.TopP);
        }

        double[] all = WeightsOfAll(logits, inverseTemperature, allWeights);
        double total = all.Sum();
        if (options.TopP >= 1f)
        {
            return new Distribution(null, all, all.Length, total);
        }
        int[] candidates = NucleusCandidates(logits, all, total, options.TopP);
        var candidateWeights = new double[candidates.Length]; // [candidates]
        for (int i = 0; i < candidates.Length; i++)
        {
            candidateWeights[i] = all[candidates[i]];
        }
        return Nucleus(candidates, candidateWeights, total, options.TopP);
    }

    /// <summary>exp((logit − max) / T) of every token, vectorized, written into <paramref name="weights"/> [vocab] and returned; the largest weight is 1, so nothing overflows.</summary>
    private static double[] WeightsOfAll(ReadOnlySpan<float> logits, double inverseTemperature, double[] weights)
    {
        float maxLogit = logits[ArgMax(logits)];
        for (int i = 0; i < logits.Length; i++)
        {
            weights[i] = (logits[i] - (double)maxLogit) * inverseTemperature;
        }
        TensorPrimitives.Exp(weights, weights);
        return weights;
    }

    /// <summary>
    /// Cuts largest-first <paramref name="ids"/> after the shortest prefix whose probability (weight / <paramref name="total"/>,
    /// the normalizer over every allowed token) reaches top-p; at least one token stays.
    /// </summary>
    private static Distribution Nucleus(int[] ids, double[] weights, double total, float topP)
    {
        int kept = ids.Length;
        double keptTotal = weights.Sum();
        if (topP < 1f)
        {
            double cumulative = 0;
            for (int i = 0; i < ids.Length; i++)
            {
                cumulative += weights[i];
                if (cumulative / total >= topP)
                {
                    kept = i + 1;
                    keptTotal = cumulative;
                    break;
                }
            }
        }
        return new Distribution(ids, weights, kept, keptTotal);
    }

    /// <summary>
    /// The largest-first ids of a prefix of the sorted vocabulary that surely holds the top-p nucleus, without sorting the
    /// whole vocabulary: tokens with weight ≥ a cutoff are a prefix of the sorted order, so once their mass reaches top-p
    /// the nucleus ends among them. The cutoff starts high and drops until that holds.
    /// </summary>
    private static int[] NucleusCandidates(ReadOnlySpan<float> logits, double[] weights, double total, float topP)
    {
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
            if (mass / total >= topP || lastRound)
            {
                break;
            }
        }

        int[] ids = selected.ToArray();
        var descendingKeys = new float[ids.Length]; // [ids] negated logits, so an ascending sort puts the largest first
        for (int i = 0; i < ids.Length; i++)
        {
            descendingKeys[i] = -logits[ids[i]];
        }
        Array.Sort(descendingKeys, ids);
        // Array.Sort is not stable: put equal logits back in ascending id order, the order TopIds and the reference use.
        for (int start = 0, end; start < ids.Length; start = end)
        {
            for (end = start + 1; end < ids.Length && descendingKeys[end] == descendingKeys[start]; end++)
            {
            }
            if (end - start > 1)
            {
                Array.Sort(ids, start, end - start);
            }
        }
        return ids;
    }

    /// <summary>The ids of the <paramref name="count"/> largest logits, largest first (ties: lower id first).</summary>
    private static int[] TopIds(ReadOnlySpan<float> logits, int count)
    {
        // Min-heap keyed by "worse" order: its root is the weakest of the current best `count`.
        var heap = new PriorityQueue<int, (float Logit, int NegatedId)>(count + 1);
        float weakestLogit = float.NegativeInfinity; // once the heap is full: most logits are below it and skip the heap

        for (int id = 0; id < logits.Length; id++)
        {
            var key = (logits[id], -id);
            if (heap.Count < count)
            {
                heap.Enqueue(id, key);
                if (heap.Count == count)
                {
                    heap.TryPeek(out _, out var weakest);
                    weakestLogit = weakest.Logit;
                }
            }
            else if (logits[id] >= weakestLogit)
            {
                heap.TryPeek(out _, out var weakest);
                if (IsBetter(key, weakest))
                {
                    heap.DequeueEnqueue(id, key);
                    heap.TryPeek(out _, out weakest);
                    weakestLogit = weakest.Logit;
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
