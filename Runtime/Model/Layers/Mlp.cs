using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// SwiGLU feed-forward down(silu(gate x) * up x): <c>{prefix}.gate_proj</c>, <c>up_proj</c> [I, H], <c>down_proj</c> [H, I].
/// The dense MLP of the first first_k_dense_replace layers and the shared experts. Where the backend keeps native
/// weights, gate_proj and up_proj are stacked into one [2I, H] matrix: one GEMV and a fused SwiGLU instead of two
/// GEMVs and a SwiGLU.
/// </summary>
internal sealed class Mlp : IFeedForward
{
    private readonly IModelBackend backend;
    private readonly Tensor? gateUp;               // [2I, H] gate_proj over up_proj, or null
    private readonly Tensor? down;                 // [H, I] with gateUp
    private readonly FeedForwardWeights? separate; // gate/up [I, H], down [H, I] when not stacked

    public Mlp(IModelBackend backend, WeightLoader weights, string prefix, int hidden, int inner)
    {
        this.backend = backend;
        gateUp = weights.TryStackedNative([($"{prefix}.gate_proj.weight", inner), ($"{prefix}.up_proj.weight", inner)], hidden);
        if (gateUp is not null)
        {
            down = weights.Matrix($"{prefix}.down_proj.weight", hidden, inner);
            return;
        }

        separate = new FeedForwardWeights(
            weights.Matrix($"{prefix}.gate_proj.weight", inner, hidden),  // [I, H]
            weights.Matrix($"{prefix}.up_proj.weight", inner, hidden),    // [I, H]
            weights.Matrix($"{prefix}.down_proj.weight", hidden, inner)); // [H, I]
    }

    /// <summary>x [T, H] → [T, H]</summary>
    public Tensor Forward(Tensor x)
    {
        if (separate is not null)
        {
            return backend.FeedForward(x, separate);
        }

        using var both = backend.Linear(x, gateUp!);       // [T, 2I] = [gate x ‖ up x]
        using var activated = backend.SwiGlu(both);        // [T, I]
        return backend.Linear(activated, down!);           // [T, H]
    }
}
