using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Tensors;

/// <summary>Elementwise updates of a flat buffer: the residual add, a scale, and fills (−∞ score rows, −1 index slots, positions).</summary>
public static partial class TensorKernels
{
    /// <summary>target[i] += addend[i].</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void AddInPlace(
        ArrayView<float> target, // [count]
        ArrayView<float> addend, // [count]
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            target[i] = target[i] + addend[i];
    }
}
