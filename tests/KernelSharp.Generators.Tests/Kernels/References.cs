namespace KernelSharp.Generators.Tests.Kernels;

/// <summary>Plain, obviously correct references for <see cref="TestKernels"/> (double accumulation).</summary>
public static class References
{
    public static float[] VectorAdd(float[] a, float[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    /// <summary>x, result [rows × cols]; weight [cols].</summary>
    public static float[] RmsNorm(float[] x, float[] weight, int rows, int cols, float eps)
    {
        var y = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double sumSquares = 0;
            for (int c = 0; c < cols; c++)
                sumSquares += (double)x[r * cols + c] * x[r * cols + c];
            double scale = 1.0 / Math.Sqrt(sumSquares / cols + eps);
            for (int c = 0; c < cols; c++)
                y[r * cols + c] = (float)(x[r * cols + c] * scale * weight[c]);
        }
        return y;
    }

    /// <summary>x, result [rows × cols].</summary>
    public static float[] Softmax(float[] x, int rows, int cols)
    {
        var y = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < cols; c++)
                max = Math.Max(max, x[r * cols + c]);
            double sum = 0;
            for (int c = 0; c < cols; c++)
                sum += Math.Exp(x[r * cols + c] - max);
            for (int c = 0; c < cols; c++)
                y[r * cols + c] = (float)(Math.Exp(x[r * cols + c] - max) / sum);
        }
        return y;
    }

    /// <summary>a [m × k] and b [k × n] as bf16 bits; result [m × n] accumulated in double.</summary>
    public static float[] MatMulBf16(ushort[] a, ushort[] b, int m, int n, int k)
    {
        var c = new float[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (double)KernelSharp.Dsl.Bf16.ToFloat(a[i * k + p]) * KernelSharp.Dsl.Bf16.ToFloat(b[p * n + j]);
                c[i * n + j] = (float)sum;
            }
        }
        return c;
    }

    /// <summary>out[g·tile + i] = in[g·tile + tile − 1 − i] · (1 + i % 3).</summary>
    public static float[] ReverseThroughShared(float[] input, int groups, int tile)
    {
        var output = new float[groups * tile];
        for (int g = 0; g < groups; g++)
            for (int i = 0; i < tile; i++)
                output[g * tile + i] = input[g * tile + tile - 1 - i] * (1 + i % 3);
        return output;
    }
}
