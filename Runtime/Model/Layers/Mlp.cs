using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// SwiGLU feed-forward down(silu(gate x) * up x): <c>{prefix}.gate_proj</c>, <c>up_proj</c> [I, H], <c>down_proj</c> [H, I].
/// The dense MLP of the first first_k_dense_replace layers, each routed expert, and the shared experts.
/// </summary>
internal sealed class Mlp(IModelBackend backend, WeightLoader weights, string prefix, int hidden, int inner) : IFeedForward
{
    public FeedForwardWeights Weights { get; } = new(
        weights.Matrix($"{prefix}.gate_proj.weight", inner, hidden),  // [I, H]
        weights.Matrix($"{prefix}.up_proj.weight", inner, hidden),    // [I, H]
        weights.Matrix($"{prefix}.down_proj.weight", hidden, inner)); // [H, I]

    public Tensor Forward(Tensor x) => backend.FeedForward(x, Weights);
}
