namespace KernelSharp.Kernels.Tensors;

/// <summary>
/// Reference of <see cref="TensorKernels.ToBf16"/>, written from the definition rather than with the bit trick the
/// kernel uses: of the two bf16 values around x (x's float bits truncated to their upper 16, and the next bf16 away
/// from zero), pick the nearer in float64, the one with an even last bit on a tie.
/// </summary>
public static class ToBf16Reference
{
    /// <summary>values [n] fp32 → [n] bf16 bits.</summary>
    public static ushort[] Round(float[] values) => values.Select(Round).ToArray();

    public static ushort Round(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
            return (ushort)((bits >> 16) | 0x0040); // a quiet NaN of the same sign
        if (float.IsInfinity(value))
            return (ushort)(bits >> 16);

        uint sign = bits & 0x8000_0000u;
        uint magnitude = bits & 0x7FFF_FFFFu;
        uint below = magnitude >> 16;     // toward zero
        uint above = below + 1;           // away from zero; 0x7F80 is infinity
        double x = Math.Abs((double)value);
        double belowValue = Widen(below);
        // Rounding past the largest finite bf16 works as if the exponent range went on: "infinity" stands at 2^128.
        double aboveValue = above == 0x7F80u ? Math.Pow(2, 128) : Widen(above);
        double distanceBelow = x - belowValue, distanceAbove = aboveValue - x;
        uint chosen = distanceBelow < distanceAbove ? below
            : distanceAbove < distanceBelow ? above
            : (below & 1) == 0 ? below : above;
        return (ushort)((sign >> 16) | chosen);
    }

    private static double Widen(uint bf16Magnitude) => BitConverter.UInt32BitsToSingle(bf16Magnitude << 16);
}
