using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Norms;

public static partial class RmsNormKernels
{
    /// <summary>
    /// output = RMSNorm(input) · weight over rows that sit inside wider rows: row r is read from
    /// input[inputOffset + r·inputStride ..] and written to output[outputOffset + outputRows[r]·outputStride ..]. This lets
    /// a norm read a column slice of a projection ([latent ‖ k_pe] → latent) and write straight into a cache window, with
    /// no copy; outputRows names each row's cache row (a paged pool scatters them; 0..rows−1 writes them in order).
    /// </summary>
    [Kernel(Grid = "rows", GroupSize = "groupSize")]
    public static void RmsNormRows(
        ArrayView<float> input,  // [rows, inputStride] from inputOffset; columns 0..n of each row are normalized
        ArrayView<float> weight, // [n]
        ArrayView<float> output, // [output rows, outputStride] from outputOffset; columns 0..n of the rows named are written
        ArrayView<int> outputRows, // [rows] the output row of each input row
        int rows,
        int n,
        int inputStride,
        long inputOffset,
        int outputStride,
        long outputOffset,
        float eps,
        [Constant(1, 256)] int groupSize)
    {
        int row = Grid.IdxX;
        int thread = Group.IdxX;
        long start = inputOffset + (long)row * inputStride;
        long target = outputOffset + (long)outputRows[row] * outputStride;
        float partial = groupSize == 1
            ? KsVector.SumOfSquares(input, start, n)
            : RowParts.StridedSumOfSquares(input, start, n, thread, groupSize);
        float sumOfSquares = KsGroup.Sum(partial);
        float inverseRms = 1f / MathF.Sqrt(sumOfSquares / n + eps);
        if (groupSize == 1)
            KsVector.MultiplyScale(input, start, weight, 0, output, target, n, inverseRms);
        else
            RowParts.StridedMultiplyScale(input, start, weight, output, target, n, inverseRms, thread, groupSize);
    }
}
