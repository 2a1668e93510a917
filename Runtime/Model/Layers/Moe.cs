using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// Mixture of experts under <c>model.layers.{i}.mlp.</c>: y = Σ_k w_k · Expert_k(x) + SharedExperts(x).
/// Routed experts are <c>experts.{e}.*</c> [moe_intermediate, H]; the shared experts are one SwiGLU of width
/// moe_intermediate · n_shared_experts.
/// </summary>
internal sealed class Moe : IFeedForward
{
    private readonly IModelBackend backend;
    private readonly Gate gate;
    private readonly IReadOnlyList<FeedForwardWeights> experts; // per expert gate/up [I, H], down [H, I]
    private readonly Mlp? sharedExperts;

    public Moe(IModelBackend backend, WeightLoader weights, ModelConfig config, string prefix)
    {
        this.backend = backend;
        gate = new Gate(backend, weights, config, $"{prefix}.gate");
        experts = weights.Experts($"{prefix}.experts", config.NRoutedExperts, config.HiddenSize, config.MoeIntermediateSize);

        sharedExperts = config.NSharedExperts > 0
            ? new Mlp(backend, weights, $"{prefix}.shared_experts", config.HiddenSize, config.MoeIntermediateSize * config.NSharedExperts)
            : null;
    }

    public Tensor Forward(Tensor x)
    {
        using var routing = gate.Forward(x);                        // experts [T, k], weights [T, k]
        using var shared = sharedExperts?.Forward(x);               // [T, H] or null
        return backend.MixExperts(x, routing, experts, shared);     // [T, H]: routed mix + shared, in one combine
    }
}
