namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Reference of <see cref="TensorCoreGemmKernels"/>: C[m, n] = Σ_k A[m, k] · W[n, k] in float64, A decoded from bf16,
/// W from bf16 or block-scaled e4m3 by <see cref="LinearWeightsReference"/> (exact decoding, no rounding of the scaled
/// weight: the kernel's bf16 rounding of W·scale is inside the bf16 tolerance).
/// </summary>
public static class TensorCoreGemmReference
{
    /// <summary>a: [m, k] bf16; weight: [n, k] bf16 → [m, n].</summary>
    public static double[] MultiplyBf16(ushort[] a, ushort[] weight, int m, int n, int k)
        => Multiply(LinearWeightsReference.DecodeBf16(a), LinearWeightsReference.DecodeBf16(weight), m, n, k);

    /// <summary>a: [m, k] bf16; weight: [n, k] e4m3; scaleInv: [ceil(n/128), ceil(k/128)] → [m, n].</summary>
    public static double[] MultiplyFp8(ushort[] a, byte[] weight, float[] scaleInv, int m, int n, int k)
        => Multiply(LinearWeightsReference.DecodeBf16(a), LinearWeightsReference.DequantizeFp8(weight, scaleInv, n, k), m, n, k);

    /// <summary>
    /// a: [m, k] bf16; weight: [n, k] e4m3; scaleInv: [ceil(n/128), ceil(k/128)] → [m, n], with each weight·scale rounded
    /// to bf16 (nearest even) first, as the kernels convert W for the tensor cores: only the fp32 summation order then
    /// separates a kernel from this reference, so it can be held to the bf16 tolerance.
    /// </summary>
    public static double[] MultiplyFp8RoundedToBf16(ushort[] a, byte[] weight, float[] scaleInv, int m, int n, int k)
    {
        ushort[] rounded = LinearWeightsReference.DequantizeFp8(weight, scaleInv, n, k)
            .Select(w => KernelSharp.Dsl.Bf16.FromFloat((float)w))
            .ToArray();
        return MultiplyBf16(a, rounded, m, n, k);
    }

    /// <summary>a: [m, k]; weight: [n, k] → [m, n], each output a float64 dot product of a row of a and a row of weight.</summary>
    public static double[] Multiply(double[] a, double[] weight, int m, int n, int k)
    {
        var c = new double[(long)m * n];
        Parallel.For(0, m, i =>
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += a[(long)i * k + p] * weight[(long)j * k + p];
                c[(long)i * n + j] = sum;
            }
        });
        return c;
    }
}
