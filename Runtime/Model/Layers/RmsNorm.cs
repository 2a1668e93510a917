using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>RMSNorm: weight * x / sqrt(mean(x²) + eps), in fp32. <c>{name}.weight</c> [dim].</summary>
internal sealed class RmsNorm(IModelBackend backend, WeightLoader weights, string name, int dim, double eps)
{
    private readonly Tensor weight = weights.Vector($"{name}.weight", dim); // [dim]

    /// <summary>x [T, dim] → [T, dim]</summary>
    public Tensor Forward(Tensor x) => backend.RmsNorm(x, weight, (float)eps);

    /// <summary>x [T, dim] += addend [T, dim] in place (null: nothing to add), then → RMSNorm(x) [T, dim].</summary>
    public Tensor Forward(Tensor x, Tensor? addend) => addend is null ? Forward(x) : backend.AddRmsNorm(x, addend, weight, (float)eps);

    /// <summary>source[:, sourceColumn .. sourceColumn + dim) [T, dim] → RMSNorm of it [T, dim].</summary>
    public Tensor ForwardColumns(Tensor source, int sourceColumn) => backend.RmsNormColumns(source, sourceColumn, weight, (float)eps);

    /// <summary>The latent cache row of each segment row's position = RMSNorm(source[row, sourceColumn .. + dim)) (a new key into the caches).</summary>
    public void StoreKeys(IReadOnlyList<AttentionSegment> segments, Tensor source, int sourceColumn) =>
        backend.StoreNormalizedKeys(segments, KeyCachePart.Latent, source, sourceColumn, weight, (float)eps);
}
