namespace KernelSharp.Kernels.Norms;

/// <summary>Reference of <see cref="RmsNormKernels"/>: y = w · x / sqrt(mean(x²) + eps) per row, float64.</summary>
public static class RmsNormReference
{
    /// <summary>input: [rows, n]; weight: [n]; returns [rows, n].</summary>
    public static double[] Normalize(float[] input, float[] weight, int rows, int n, float eps)
    {
        var output = new double[(long)rows * n];
        for (int r = 0; r < rows; r++)
        {
            double sumOfSquares = 0;
            for (int i = 0; i < n; i++)
            {
                double x = input[(long)r * n + i];
                sumOfSquares += x * x;
            }
            double inverseRms = 1.0 / Math.Sqrt(sumOfSquares / n + eps);
            for (int i = 0; i < n; i++)
            {
                output[(long)r * n + i] = weight[i] * (input[(long)r * n + i] * inverseRms);
            }
        }
        return output;
    }

    /// <summary>
    /// The strided form: row r is input[inputOffset + r·inputStride .. + n); returns the normalized rows [rows, n]
    /// (where the kernel writes them is checked by the caller).
    /// </summary>
    public static double[] NormalizeRows(float[] input, int inputStride, long inputOffset, float[] weight, int rows, int n, float eps)
    {
        var packed = new float[(long)rows * n]; // [rows, n]
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(input, inputOffset + (long)r * inputStride, packed, (long)r * n, n);
        }
        return Normalize(packed, weight, rows, n, eps);
    }

    /// <summary>
    /// The fused pre-norm step: residual ← residual + input (returned as the new residual, [rows, n]), then the
    /// RMSNorm of that sum ([rows, n]).
    /// </summary>
    public static (float[] Residual, double[] Output) AddAndNormalize(float[] input, float[] residual, float[] weight, int rows, int n, float eps)
    {
        var sum = new float[residual.Length];
        for (int i = 0; i < sum.Length; i++)
        {
            // The kernel stores the sum in fp32, so the reference rounds it the same way before normalizing.
            sum[i] = residual[i] + input[i];
        }
        return (sum, Normalize(sum, weight, rows, n, eps));
    }
}
