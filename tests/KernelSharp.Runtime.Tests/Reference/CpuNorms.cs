using System.Numerics.Tensors;

namespace KernelSharp.Runtime.Tests.Reference;

/// <summary>Row-wise RMSNorm and LayerNorm in fp32 (the reference computes norms in fp32 too).</summary>
internal static class CpuNorms
{
    /// <summary>y[t] = weight * x[t] / sqrt(mean(x[t]²) + eps); x, y [rows, dim], weight [dim].</summary>
    public static float[] RmsNorm(float[] x, int rows, int dim, float[] weight, float eps)
    {
        var y = new float[rows * dim];
        CpuParallel.For(rows, dim, (start, end) =>
        {
            for (var t = start; t < end; t++)
            {
                var row = x.AsSpan(t * dim, dim);
                var inverseRms = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(row) / dim + eps);
                var output = y.AsSpan(t * dim, dim);
                TensorPrimitives.Multiply(row, inverseRms, output);
                TensorPrimitives.Multiply(output, weight, output);
            }
        });
        return y;
    }

    /// <summary>y[t] = (x[t] − mean) / sqrt(var + eps) * weight + bias (biased variance); x, y [rows, dim], weight, bias [dim].</summary>
    public static float[] LayerNorm(float[] x, int rows, int dim, float[] weight, float[] bias, float eps)
    {
        var y = new float[rows * dim];
        CpuParallel.For(rows, dim, (start, end) =>
        {
            for (var t = start; t < end; t++)
            {
                var row = x.AsSpan(t * dim, dim);
                var output = y.AsSpan(t * dim, dim);
                var mean = TensorPrimitives.Sum(row) / dim;
                TensorPrimitives.Subtract(row, mean, output);
                var variance = TensorPrimitives.SumOfSquares(output) / dim;
                TensorPrimitives.Multiply(output, 1f / MathF.Sqrt(variance + eps), output);
                TensorPrimitives.MultiplyAdd(output, weight, bias, output);
            }
        });
        return y;
    }
}
