namespace KernelSharp.Kernels.Tensors;

/// <summary>Reference of <see cref="TensorKernels.CopyBlock"/>: the same block copy as two plain loops.</summary>
public static class TensorCopyReference
{
    public static void CopyBlock(float[] source, float[] destination, int rows, int columns,
        long sourceStride, long sourceOffset, long destinationStride, long destinationOffset)
    {
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < columns; c++)
            {
                destination[destinationOffset + r * destinationStride + c] = source[sourceOffset + r * sourceStride + c];
            }
        }
    }
}
