namespace KernelSharp.Kernels.Norms;

/// <summary>Reference of <see cref="LayerNormKernels"/>: y = (x − mean) / sqrt(var + eps) · w + b per row (biased variance), float64.</summary>
public static class LayerNormReference
{
    /// <summary>input: [rows, n]; weight, bias: [n]; returns [rows, n].</summary>
    public static double[] Normalize(float[] input, float[] weight, float[] bias, int rows, int n, float eps)
    {
        var output = new double[(long)rows * n];
        for (int r = 0; r < rows; r++)
        {
            double mean = 0;
            for (int i = 0; i < n; i++)
            {
                mean += input[(long)r * n + i];
            }
            mean /= n;
            double variance = 0;
            for (int i = 0; i < n; i++)
            {
                double d = input[(long)r * n + i] - mean;
                variance += d * d;
            }
            variance /= n;
            double inverseStd = 1.0 / Math.Sqrt(variance + eps);
            for (int i = 0; i < n; i++)
            {
                output[(long)r * n + i] = (input[(long)r * n + i] - mean) * inverseStd * weight[i] + bias[i];
            }
        }
        return output;
    }
}
