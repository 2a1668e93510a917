using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>A bias-free projection y = x Wᵀ. <c>{name}.weight</c> [out, in] (dequantized from FP8 at load time when stored so).</summary>
internal sealed class Linear(IModelBackend backend, WeightLoader weights, string name, int inFeatures, int outFeatures)
{
    /// <summary>[out, in]</summary>
    public Tensor Weight { get; } = weights.Matrix($"{name}.weight", outFeatures, inFeatures);

    /// <summary>x [T, in] → [T, out]</summary>
    public Tensor Forward(Tensor x) => backend.Linear(x, Weight);
}
