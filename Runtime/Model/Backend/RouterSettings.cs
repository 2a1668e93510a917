namespace KernelSharp.Runtime.Model.Backend;

/// <summary>How the MoE gate picks experts (DeepSeek-V3 noaux_tc routing with sigmoid scores).</summary>
/// <param name="Groups">n_group: experts are split into this many equal groups.</param>
/// <param name="KeptGroups">topk_group: groups kept per token (ranked by the sum of their two best biased scores).</param>
/// <param name="ExpertsPerToken">num_experts_per_tok.</param>
/// <param name="NormalizeWeights">norm_topk_prob: divide the chosen weights by their sum (+1e-20).</param>
/// <param name="ScalingFactor">routed_scaling_factor, applied after normalization.</param>
public readonly record struct RouterSettings(int Groups, int KeptGroups, int ExpertsPerToken, bool NormalizeWeights, float ScalingFactor);

/// <summary>Experts chosen per token. <paramref name="Experts"/> [T, k] expert ids; <paramref name="Weights"/> [T, k] their mixing weights.</summary>
public sealed record ExpertRouting(IndexTensor Experts, Tensor Weights) : IDisposable
{
    public void Dispose()
    {
        Experts.Dispose();
        Weights.Dispose();
    }
}

/// <summary>One SwiGLU feed-forward: down(silu(gate x) * up x). Gate/Up [I, H], Down [H, I].</summary>
public sealed record FeedForwardWeights(Tensor Gate, Tensor Up, Tensor Down);
