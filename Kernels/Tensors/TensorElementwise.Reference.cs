namespace KernelSharp.Kernels.Tensors;

/// <summary>References of the elementwise kernels of <see cref="TensorKernels"/>.</summary>
public static class TensorElementwiseReference
{
    public static void AddInPlace(float[] target, float[] addend)
    {
        for (var i = 0; i < target.Length; i++)
        {
            target[i] += addend[i];
        }
    }

    public static void ScaleInPlace(float[] x, float factor)
    {
        for (var i = 0; i < x.Length; i++)
        {
            x[i] *= factor;
        }
    }

    public static int[] FillRange(int start, int count) => Enumerable.Range(start, count).ToArray();

    public static int[] FillQuotient(int count, int divisor) => Enumerable.Range(0, count).Select(i => i / divisor).ToArray();
}
