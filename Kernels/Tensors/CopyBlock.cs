using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Tensors;

/// <summary>
/// Strided copies of a block of a row-major matrix: how the model backend moves new keys into a cache, takes a
/// column slice of an activation, and lays the latent and rope caches side by side for MLA attention.
/// </summary>
public static partial class TensorKernels
{
    /// <summary>
    /// destination[destinationOffset + r·destinationStride + c] = source[sourceOffset + r·sourceStride + c]
    /// for r &lt; rows, c &lt; columns; one thread per element.
    /// </summary>
    [Kernel(Grid = "(rows * columns + 255) / 256", GroupSize = "256")]
    public static void CopyBlock(
        ArrayView<float> source,      // [*, sourceStride]
        ArrayView<float> destination, // [*, destinationStride]
        int rows,
        int columns,
        long sourceStride,
        long sourceOffset,
        long destinationStride,
        long destinationOffset)
    {
        long i = (long)Grid.IdxX * 256 + Group.IdxX;
        if (i < (long)rows * columns)
        {
            long r = i / columns;
            long c = i - r * columns;
            destination[destinationOffset + r * destinationStride + c] = source[sourceOffset + r * sourceStride + c];
        }
    }
}
