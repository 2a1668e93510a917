using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// A bias-free projection y = x Wᵀ. <c>{name}.weight</c> [out, in], kept bf16 / FP8 where the backend keeps native
/// weights, else dequantized at load time; <paramref name="fp32"/> forces fp32 (a weight other kernels read as fp32).
/// </summary>
internal sealed class Linear(IModelBackend backend, WeightLoader weights, string name, int inFeatures, int outFeatures, bool fp32 = false)
{
    /// <summary>[out, in]</summary>
    public Tensor Weight { get; } = fp32
        ? weights.Fp32Matrix($"{name}.weight", outFeatures, inFeatures)
        : weights.Matrix($"{name}.weight", outFeatures, inFeatures);

    /// <summary>x [T, in] → [T, out]</summary>
    public Tensor Forward(Tensor x) => backend.Linear(x, Weight);
}
