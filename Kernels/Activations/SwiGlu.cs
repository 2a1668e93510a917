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
}
