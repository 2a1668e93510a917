namespace KernelSharp.Kernels.Synthetic;

/// <summary>
/// Reference of <see cref="SyntheticWeightKernels"/>, written from the definition: SplitMix64 of key + index · golden
/// ratio, its top 24 bits scaled to [-1, 1) in double, then rounded to the stored format by the tables and searches of
/// the other references (not by the kernels' bit tricks).
/// </summary>
public static class SyntheticWeightsReference
{
    /// <summary>u(key, index) for index in [first, first + count).</summary>
    public static float[] Units(ulong key, long first, int count)
    {
        var result = new float[count];
        for (int i = 0; i < count; i++)
        {
            ulong z = key + (ulong)(first + i) * 0x9E3779B97F4A7C15;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
            z ^= z >> 31;
            result[i] = (float)(((double)(z >> 40) / (1 << 23)) - 1.0);
        }

        return result;
    }

    /// <summary>bf16 bits of halfWidth · u.</summary>
    public static ushort[] Bf16(ulong key, long first, int count, float halfWidth) =>
        Units(key, first, count).Select(u => Tensors.ToBf16Reference.Round(halfWidth * u)).ToArray();

    /// <summary>e4m3 codes of 448 · u: the nearest of the 127 non-negative finite values (ties to the even code), with u's sign.</summary>
    public static byte[] Fp8(ulong key, long first, int count) =>
        Units(key, first, count).Select(u => NearestFp8(448f * u)).ToArray();

    private static byte NearestFp8(float value)
    {
        byte sign = value < 0 ? (byte)0x80 : (byte)0;
        double magnitude = Math.Abs((double)value);
        int best = 0;
        for (int code = 1; code < 0x7F; code++)
        {
            double distance = Math.Abs(Fp8Magnitude(code) - magnitude), bestDistance = Math.Abs(Fp8Magnitude(best) - magnitude);
            if (distance < bestDistance || (distance == bestDistance && code % 2 == 0))
                best = code;
        }

        return (byte)(sign | best);
    }

    private static double Fp8Magnitude(int code)
    {
        int exponent = code >> 3, mantissa = code & 7;
        return exponent == 0 ? mantissa / 8.0 * Math.Pow(2, -6) : (1 + mantissa / 8.0) * Math.Pow(2, exponent - 7);
    }
}
