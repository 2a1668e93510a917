namespace KernelSharp.Kernels.Activations;

public static partial class SwiGluKernels
{
    /// <summary>g / (1 + e^−g); for very negative g, e^−g overflows to +∞ and the quotient is the correct −0.</summary>
    public static float Silu(float g) => g / (1f + MathF.Exp(-g));
}
