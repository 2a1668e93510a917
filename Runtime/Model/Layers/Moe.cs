using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Distributed;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// Mixture of experts under <c>model.layers.{i}.mlp.</c>: y = Σ_k w_k · Expert_k(x) + SharedExperts(x).
/// Routed experts are <c>experts.{e}.*</c> [moe_intermediate, H]; the shared experts are one SwiGLU of width
/// moe_intermediate · n_shared_experts. Split over ranks (expert parallel), a rank holds a range of the routed experts
/// and routes every token over all of them; its partial mix (plus the shared experts on the rank that holds them) is
/// summed across ranks.
/// </summary>
internal sealed class Moe : IFeedForward
{
    private readonly IModelBackend backend;
    private readonly Gate gate;
    private readonly IReadOnlyList<FeedForwardWeights> experts; // per expert gate/up [I, H], down [H, I]
    private readonly Mlp? sharedExperts;
    private readonly ModelParallelism parallelism;
    private readonly int firstExpert;

    public Moe(IModelBackend backend, WeightLoader weights, ModelConfig config, string prefix, ModelParallelism parallelism)
    {
        this.backend = backend;
        this.parallelism = parallelism;
        gate = new Gate(backend, weights, config, $"{prefix}.gate");
        (firstExpert, var count) = parallelism.Plan.Experts(config.NRoutedExperts);
        experts = weights.Experts($"{prefix}.experts", count, config.HiddenSize, config.MoeIntermediateSize, firstExpert);
        weights.SkipHeldElsewhere(3 * (config.NRoutedExperts - count));

        var holdsShared = config.NSharedExperts > 0 && parallelism.Plan.HoldsSharedExperts;
        sharedExperts = holdsShared
            ? new Mlp(backend, weights, $"{prefix}.shared_experts", config.HiddenSize, config.MoeIntermediateSize * config.NSharedExperts)
            : null;
        if (config.NSharedExperts > 0 && !holdsShared)
        {
            weights.SkipHeldElsewhere(3);
        }
    }

    public Tensor Forward(Tensor x)
    {
        using var routing = gate.Forward(x);                        // experts [T, k], weights [T, k]
        using var shared = sharedExperts?.Forward(x);               // [T, H] or null
        var mixed = backend.MixExperts(x, routing, experts, shared, firstExpert); // [T, H]: routed mix (this rank's experts) + shared
        if (!parallelism.Exchanges)
        {
            return mixed;
        }

        using (mixed)
        {
            return parallelism.AllReduceSum(mixed);                 // [T, H]: every rank's experts
        }
    }
}
