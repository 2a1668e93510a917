using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Tensors;

public static partial class TensorKernels
{
    /// <summary>
    /// x[i] = i / divisor: for rows that are (token, head) pairs, each row's token (divisor = heads), as the rope tables
    /// of a prompt's query heads are indexed; made on the device without an upload.
    /// </summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void FillQuotient(
        ArrayView<int> x, // [count]
        int count,
        int divisor)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            x[i] = i / divisor;
    }
}
