using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>RMSNorm: weight * x / sqrt(mean(x²) + eps), in fp32. <c>{name}.weight</c> [dim].</summary>
internal sealed class RmsNorm(IModelBackend backend, WeightLoader weights, string name, int dim, double eps)
{
    private readonly Tensor weight = weights.Vector($"{name}.weight", dim); // [dim]

    /// <summary>x [T, dim] → [T, dim]</summary>
    public Tensor Forward(Tensor x) => backend.RmsNorm(x, weight, (float)eps);
}
