using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// The MoE router (noaux_tc): sigmoid scores of <c>mlp.gate.weight</c> [E, H], biased by
/// <c>mlp.gate.e_score_correction_bias</c> [E] for choosing only, grouped selection, unbiased weights. Computed in fp32.
/// </summary>
internal sealed class Gate(IModelBackend backend, WeightLoader weights, ModelConfig config, string prefix)
{
    private readonly Tensor weight = weights.Matrix($"{prefix}.weight", config.NRoutedExperts, config.HiddenSize); // [E, H]
    private readonly Tensor bias = weights.Vector($"{prefix}.e_score_correction_bias", config.NRoutedExperts);   // [E]
    private readonly RouterSettings settings = new(config.NGroup, config.TopkGroup, config.NumExpertsPerTok, config.NormTopkProb, (float)config.RoutedScalingFactor);

    /// <summary>x [T, H] → chosen experts [T, k] and their weights [T, k]</summary>
    public ExpertRouting Forward(Tensor x)
    {
        using var logits = backend.Linear(x, weight); // [T, E]
        return backend.RouteExperts(logits, bias, settings);
    }
}
