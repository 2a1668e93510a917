namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// How one rank's share of the model is cut, as DeepSeek's own inference code cuts it: the routed experts in contiguous
/// ranges (expert parallel: rank r holds experts [r·E/N, (r+1)·E/N)), the attention heads in contiguous ranges (tensor
/// parallel: a rank's rows of q_b_proj and kv_b_proj and its columns of o_proj), the embedding table and the output
/// head by vocabulary rows, and the shared experts on rank 0. The down-projections, the latent cache, the indexer, the
/// norms and the router are replicated: every rank runs every token through them, and the expert mix, the attention
/// output, the embedding and the head are summed or gathered across ranks.
/// </summary>
public sealed record ParallelPlan(int Rank, int Size)
{
    /// <summary>The whole model on one device.</summary>
    public static ParallelPlan Single { get; } = new(0, 1);

    public bool IsSplit => Size > 1;

    /// <summary>Whether this rank computes the shared experts (exactly one rank adds them to the mix).</summary>
    public bool HoldsSharedExperts => Rank == 0;

    /// <summary>This rank's routed experts: [First, First + Count).</summary>
    public (int First, int Count) Experts(int experts) => Share(experts);

    /// <summary>This rank's attention heads: [First, First + Count) (tensor parallel: its rows of q_b_proj and kv_b_proj, its columns of o_proj).</summary>
    public (int First, int Count) Heads(int heads) => Share(heads);

    /// <summary>This rank's vocabulary rows of the embedding and the head: [First, First + Count).</summary>
    public (int First, int Count) Vocabulary(int vocabulary) => Share(vocabulary);

    /// <summary>A plan for <paramref name="size"/> ranks of a model with <paramref name="config"/>; a clear error when it cannot be split that way.</summary>
    public static ParallelPlan For(int rank, int size, ModelConfig config)
    {
        if (size < 1 || rank < 0 || rank >= size)
        {
            throw new UserInputException($"rank {rank} of {size} is not a rank of the group (need 0 ≤ rank < ranks, ranks ≥ 1)");
        }

        if (size > 1 && config.NRoutedExperts > 0 && config.NRoutedExperts < size)
        {
            throw new UserInputException($"the model has {config.NRoutedExperts} routed experts, fewer than the {size} ranks to split them over; use at most {config.NRoutedExperts} ranks");
        }

        if (config.NumAttentionHeads < size)
        {
            throw new UserInputException($"the model has {config.NumAttentionHeads} attention heads, fewer than the {size} ranks to split them over; use at most {config.NumAttentionHeads} ranks");
        }

        if (config.VocabSize < size)
        {
            throw new UserInputException($"the vocabulary of {config.VocabSize} tokens cannot be split over {size} ranks");
        }

        return new ParallelPlan(rank, size);
    }

    private (int First, int Count) Share(int total)
    {
        var first = (int)((long)total * Rank / Size);
        var next = (int)((long)total * (Rank + 1) / Size);
        return (first, next - first);
    }
}
