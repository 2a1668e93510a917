using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Tensors;

public static partial class TensorKernels
{
    /// <summary>x[i] = value.</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void FillInt(
        ArrayView<int> x, // [count]
        int value,
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            x[i] = value;
    }
}
