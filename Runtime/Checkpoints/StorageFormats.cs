namespace KernelSharp.Runtime;

/// <summary>
/// Scalar conversions between float and the stored formats of checkpoints: bfloat16 and FP8 e4m3 (the "FN" variant:
/// no infinities, one NaN pattern per sign, largest finite 448). Encoding rounds to nearest, ties to even.
/// </summary>
public static class StorageFormats
{
    /// <summary>Largest finite FP8 e4m3 magnitude.</summary>
    public const float Fp8E4M3Max = 448f;

    // [256] float value of each FP8 code; built from the bit layout s.eeee.mmm, exponent bias 7.
    private static readonly float[] Fp8Values = BuildFp8Table();

    // [127] the non-negative finite codes 0x00..0x7E in increasing order of value, for nearest-value encoding.
    private static readonly float[] Fp8PositiveValues = Fp8Values[..0x7F];

    public static float Bf16ToFloat(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    public static ushort FloatToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040); // keep the sign, force a quiet NaN
        }

        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    public static float Fp8E4M3ToFloat(byte bits) => Fp8Values[bits];

    /// <summary>
    /// Nearest FP8 e4m3 value (ties to the even code), saturating to ±448; NaN stays NaN. Written as a search over the
    /// decoded table so that it is obviously correct; the kernels' bit-twiddling <c>KernelSharp.Dsl.Fp8E4M3</c> is tested against it.
    /// </summary>
    public static byte FloatToFp8E4M3(float value)
    {
        if (float.IsNaN(value))
        {
            return (byte)(((BitConverter.SingleToUInt32Bits(value) >> 24) & 0x80) | 0x7F); // NaN with the input's sign
        }

        byte sign = value < 0 || (value == 0 && float.IsNegative(value)) ? (byte)0x80 : (byte)0;
        float magnitude = Math.Abs(value);
        if (magnitude >= Fp8E4M3Max)
        {
            return (byte)(sign | 0x7E);
        }

        // First code whose value is >= magnitude; the answer is it or the one before.
        int upper = Array.BinarySearch(Fp8PositiveValues, magnitude);
        if (upper >= 0)
        {
            return (byte)(sign | upper);
        }

        upper = ~upper;
        int lower = upper - 1;
        float below = magnitude - Fp8PositiveValues[lower];
        float above = Fp8PositiveValues[upper] - magnitude;
        int code = below < above ? lower : above < below ? upper : (lower % 2 == 0 ? lower : upper);
        return (byte)(sign | code);
    }

    private static float[] BuildFp8Table()
    {
        var table = new float[256];
        for (int code = 0; code < 256; code++)
        {
            int exponent = (code >> 3) & 0xF;
            int mantissa = code & 0x7;
            float magnitude = exponent == 0
                ? mantissa / 8f * MathF.Pow(2, -6)                     // subnormal
                : (1 + (mantissa / 8f)) * MathF.Pow(2, exponent - 7);
            table[code] = (code & 0x80) != 0 ? -magnitude : magnitude;
            if (exponent == 0xF && mantissa == 0x7)
            {
                // A quiet NaN carrying the code's sign (float.NaN itself has the sign bit set).
                table[code] = BitConverter.UInt32BitsToSingle(((uint)(code & 0x80) << 24) | 0x7FC00000);
            }
        }

        return table;
    }
}
