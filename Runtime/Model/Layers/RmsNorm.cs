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

    /// <summary>destination[destinationRow + r] = RMSNorm(source[sourceRow + r, sourceColumn .. + dim)) for r &lt; rowCount (into a cache).</summary>
    public void ForwardInto(Tensor destination, int destinationRow, Tensor source, int sourceRow, int rowCount, int sourceColumn) =>
        backend.RmsNormRowsInto(destination, destinationRow, source, sourceRow, rowCount, sourceColumn, weight, (float)eps);
}
