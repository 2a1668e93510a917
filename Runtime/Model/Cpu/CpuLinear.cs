using System.Numerics.Tensors;

namespace KernelSharp.Runtime.Model.Cpu;

/// <summary>y = x · Wᵀ with W stored [out, in] as in the checkpoint: each output is one dot product of two contiguous rows.</summary>
internal static class CpuLinear
{
    /// <param name="x">[rows, inDim]</param>
    /// <param name="weight">[outDim, inDim]</param>
    /// <returns>[rows, outDim]</returns>
    public static float[] Forward(float[] x, int rows, int inDim, float[] weight, int outDim)
    {
        var y = new float[rows * outDim];
        // Threads split the output features so each weight row is read once per call (decode is bound by weight reads).
        CpuParallel.For(outDim, (long)rows * inDim, (start, end) =>
        {
            for (var o = start; o < end; o++)
            {
                var w = weight.AsSpan(o * inDim, inDim);
                for (var t = 0; t < rows; t++)
                {
                    y[t * outDim + o] = TensorPrimitives.Dot(x.AsSpan(t * inDim, inDim), w);
                }
            }
        });
        return y;
    }

    /// <summary>Reference: the same product with plain loops and a double accumulator.</summary>
    public static float[] Reference(float[] x, int rows, int inDim, float[] weight, int outDim)
    {
        var y = new float[rows * outDim];
        for (var t = 0; t < rows; t++)
        {
            for (var o = 0; o < outDim; o++)
            {
                double sum = 0;
                for (var i = 0; i < inDim; i++)
                {
                    sum += (double)x[t * inDim + i] * weight[o * inDim + i];
                }

                y[t * outDim + o] = (float)sum;
            }
        }

        return y;
    }
}
