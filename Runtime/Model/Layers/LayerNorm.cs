using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>LayerNorm with bias (the indexer's k_norm). <c>{name}.weight</c>, <c>{name}.bias</c> [dim].</summary>
internal sealed class LayerNorm(IModelBackend backend, WeightLoader weights, string name, int dim, double eps)
{
    private readonly Tensor weight = weights.Vector($"{name}.weight", dim); // [dim]
    private readonly Tensor bias = weights.Vector($"{name}.bias", dim);     // [dim]

    /// <summary>x [T, dim] → [T, dim]</summary>
    public Tensor Forward(Tensor x) => backend.LayerNorm(x, weight, bias, (float)eps);
}
