using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Activations;

/// <summary>
/// SwiGLU, the activation of every DeepSeek FFN and expert: out = silu(gate) · up, silu(g) = g / (1 + e^−g), fp32.
/// Element-wise, one thread per element (the CPU path turns a group of 256 into a plain loop).
/// </summary>
public static partial class SwiGluKernels
{
    /// <summary>output[i] = silu(gate[i]) · up[i].</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void SwiGlu(
        ArrayView<float> gate,   // [count]
        ArrayView<float> up,     // [count]
        ArrayView<float> output, // [count] (may be gate or up)
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            output[i] = Silu(gate[i]) * up[i];
    }

    /// <summary>
    /// The fused form for one GEMM over concatenated [gate; up] weights: each row of <paramref name="gateUp"/> is
    /// gate ‖ up; output[r, i] = silu(gateUp[r, i]) · gateUp[r, inner + i].
    /// </summary>
    [Kernel(Grid = "(rows * inner + 255) / 256", GroupSize = "256")]
    public static void SwiGluFused(
        ArrayView<float> gateUp, // [rows, 2·inner]
        ArrayView<float> output, // [rows, inner]
        int rows,
        int inner)
    {
        long i = (long)Grid.IdxX * 256 + Group.IdxX;
        if (i < (long)rows * inner)
        {
            long row = i / inner;
            long column = i - row * inner;
            long gateIndex = row * 2 * inner + column;
            output[i] = Silu(gateUp[gateIndex]) * gateUp[gateIndex + inner];
        }
    }

    /// <summary>g / (1 + e^−g); for very negative g, e^−g overflows to +∞ and the quotient is the correct −0.</summary>
    public static float Silu(float g) => g / (1f + MathF.Exp(-g));
}
