namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Plain decoders of the weight storage formats the linear kernels read, written from the format definitions and
/// independent of the Dsl intrinsics, so a reference built on them also checks the kernels' decoding.
/// </summary>
public static class LinearWeightsReference
{
    /// <summary>Edge of the square blocks that share one fp32 scale in DeepSeek fp8 checkpoints.</summary>
    public const int Fp8BlockSize = 128;

    /// <summary>bf16 is the upper 16 bits of a float32.</summary>
    public static double DecodeBf16(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is subnormal; S.1111.111 is NaN.</summary>
    public static double DecodeFp8E4M3(byte bits)
    {
        int sign = (bits & 0x80) != 0 ? -1 : 1;
        int exponent = (bits >> 3) & 0xF;
        int mantissa = bits & 0x7;
        if (exponent == 0xF && mantissa == 0x7)
        {
            return double.NaN;
        }
        return exponent == 0
            ? sign * (mantissa / 8.0) * Math.Pow(2, -6)
            : sign * (1 + mantissa / 8.0) * Math.Pow(2, exponent - 7);
    }

    /// <summary>weight: [rows, cols] bf16 bits → [rows, cols] values.</summary>
    public static double[] DecodeBf16(ushort[] weight)
    {
        var values = new double[weight.Length];
        for (int i = 0; i < weight.Length; i++)
        {
            values[i] = DecodeBf16(weight[i]);
        }
        return values;
    }

    /// <summary>weight: [rows, cols] fp32 → [rows, cols] values.</summary>
    public static double[] Widen(float[] weight)
    {
        var values = new double[weight.Length];
        for (int i = 0; i < weight.Length; i++)
        {
            values[i] = weight[i];
        }
        return values;
    }

    /// <summary>
    /// weight: [rows, cols] e4m3 bytes; scaleInv: [ceil(rows/128), ceil(cols/128)] fp32 → [rows, cols] values,
    /// each byte's value times the scale of the 128×128 block that holds it.
    /// </summary>
    public static double[] DequantizeFp8(byte[] weight, float[] scaleInv, int rows, int cols)
    {
        int blockCols = (cols + Fp8BlockSize - 1) / Fp8BlockSize;
        var values = new double[(long)rows * cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                long i = (long)r * cols + c;
                values[i] = DecodeFp8E4M3(weight[i]) * scaleInv[(r / Fp8BlockSize) * blockCols + c / Fp8BlockSize];
            }
        }
        return values;
    }
}
