using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Tensors;

public static partial class TensorKernels
{
    /// <summary>x[i] *= factor.</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void ScaleInPlace(
        ArrayView<float> x, // [count]
        float factor,
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            x[i] = x[i] * factor;
    }
}
