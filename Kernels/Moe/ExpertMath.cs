namespace KernelSharp.Kernels.Moe;

/// <summary>Per-thread math of the expert FFN kernels.</summary>
public static class ExpertMath
{
    /// <summary>silu(gate)·up, silu(g) = g·sigmoid(g).</summary>
    public static float SwiGlu(float gate, float up) => gate / (1f + MathF.Exp(-gate)) * up;
}
