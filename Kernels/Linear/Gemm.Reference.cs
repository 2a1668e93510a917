namespace KernelSharp.Kernels.Linear;

/// <summary>Reference of <see cref="GemmKernels"/>: C = A Bᵀ (the Linear layer on a batch of tokens), float64 accumulation.</summary>
public static class GemmReference
{
    /// <summary>a: [m, k]; weight: [n, k] decoded values; returns [m, n] with c[i, j] = Σ_p a[i, p] · weight[j, p].</summary>
    public static double[] Multiply(float[] a, int m, int k, double[] weight, int n)
    {
        var c = new double[(long)m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    sum += a[(long)i * k + p] * weight[(long)j * k + p];
                }
                c[(long)i * n + j] = sum;
            }
        }
        return c;
    }
}
