namespace KernelSharp.Kernels.Activations;

/// <summary>Reference of <see cref="SoftmaxKernels"/>: p_i = e^(x_i − max) / Σ_j e^(x_j − max) per row, float64.</summary>
public static class SoftmaxReference
{
    /// <summary>input: [rows, cols] → [rows, cols]. A row of −∞ only (fully masked) gives zeros.</summary>
    public static double[] Apply(float[] input, int rows, int cols)
    {
        var output = new double[(long)rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < cols; c++)
            {
                max = Math.Max(max, input[(long)r * cols + c]);
            }
            if (double.IsNegativeInfinity(max))
            {
                continue;
            }
            double sum = 0;
            for (int c = 0; c < cols; c++)
            {
                sum += Math.Exp(input[(long)r * cols + c] - max);
            }
            for (int c = 0; c < cols; c++)
            {
                output[(long)r * cols + c] = Math.Exp(input[(long)r * cols + c] - max) / sum;
            }
        }
        return output;
    }
}
