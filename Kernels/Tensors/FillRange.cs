using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Tensors;

public static partial class TensorKernels
{
    /// <summary>x[i] = start + i (the positions of a run of consecutive tokens, made on the device without an upload).</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void FillRange(
        ArrayView<int> x, // [count]
        int start,
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            x[i] = start + i;
    }
}
