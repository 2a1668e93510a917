namespace KernelSharp.Kernels.Linear;

/// <summary>Reference of <see cref="GemvKernels"/>: y = x Wᵀ for a few input rows, float64 accumulation.</summary>
public static class GemvReference
{
    /// <summary>
    /// weight: [rows, cols] decoded values (see <see cref="LinearWeightsReference"/>); input: [batch, cols];
    /// returns [batch, rows] with output[b, o] = Σ_i weight[o, i] · input[b, i].
    /// </summary>
    public static double[] Multiply(double[] weight, int rows, int cols, float[] input, int batch)
    {
        var output = new double[(long)batch * rows];
        for (int b = 0; b < batch; b++)
        {
            for (int o = 0; o < rows; o++)
            {
                double sum = 0;
                for (int i = 0; i < cols; i++)
                {
                    sum += weight[(long)o * cols + i] * input[(long)b * cols + i];
                }
                output[(long)b * rows + o] = sum;
            }
        }
        return output;
    }
}
