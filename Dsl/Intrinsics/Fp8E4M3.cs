using ILGPU;

namespace KernelSharp.Dsl;

/// <summary>
/// float8 e4m3fn ↔ float conversion (the format of DeepSeek-V3 fp8 checkpoints, <c>torch.float8_e4m3fn</c>):
/// 1 sign bit, 4 exponent bits with bias 7, 3 mantissa bits; no infinities; <c>0x7F</c>/<c>0xFF</c> are NaN;
/// exponent field 0 holds subnormals <c>m · 2^-9</c>; largest finite value ±448. Integer ops only, so the
/// methods run inside ILGPU kernels and on the host.
/// </summary>
public static class Fp8E4M3
{
    /// <summary>Largest finite magnitude, encoded <c>0x7E</c>.</summary>
    public const float MaxValue = 448f;

    private const uint SignMask = 0x80u;
    private const uint MaxFiniteMagnitude = 0x7Eu;
    private const uint NaNMagnitude = 0x7Fu;

    /// <summary>Decodes exactly (every e4m3 value is a float32).</summary>
    public static float ToFloat(byte bits)
    {
        // Branch-free: the 7 magnitude bits placed at float's exponent/mantissa boundary read as 2^(e-127)·(1+m/8)
        // (or, for e = 0, the float subnormal m·2^-129); one multiply by 2^120 rebiases both cases exactly.
        // No int→float conversion either: ILGPU turns uint→float into a double round trip, which slowed FP8 GEMV on the H200.
        uint magnitudeBits = (uint)bits & 0x7Fu;
        uint sign = ((uint)bits & SignMask) << 24;
        float magnitude = Interop.IntAsFloat(magnitudeBits << 20) * Interop.IntAsFloat(0x7B80_0000u); // × 2^120
        uint result = magnitudeBits == 0x7Fu ? 0x7FC0_0000u : Interop.FloatAsInt(magnitude);
        return Interop.IntAsFloat(sign | result);
    }

    /// <summary>
    /// Decodes the four little-endian e4m3 bytes of a 32-bit word (byte 0 → X … byte 3 → W), each exactly as
    /// <see cref="ToFloat"/> does, NaN included. About three integer operations and one multiply per value instead of
    /// <see cref="ToFloat"/>'s six: no byte extraction, and the NaN test runs once per word (a rarely taken branch).
    /// </summary>
    public static Float4 ToFloat4(uint packed)
    {
        if ((NaNFlags(packed) & NaNFlagMask) != 0)
            return new Float4(ToFloat((byte)packed), ToFloat((byte)(packed >> 8)), ToFloat((byte)(packed >> 16)), ToFloat((byte)(packed >> 24)));
        return ToFloat4IgnoringNaN(packed);
    }

    /// <summary>
    /// <see cref="ToFloat4"/> without the NaN test: the NaN codes <c>0x7F</c>/<c>0xFF</c> read as ±480. For loops that
    /// OR <see cref="NaNFlags"/> of every word into one value and test <see cref="NaNFlagMask"/> once at the end.
    /// </summary>
    public static Float4 ToFloat4IgnoringNaN(uint packed) =>
        new(WidenTopByte(packed << 24), WidenTopByte(packed << 16), WidenTopByte(packed << 8), WidenTopByte(packed));

    /// <summary>
    /// Per byte, bit 7 is set when that byte is a NaN code (magnitude 0x7F + 1 carries into bit 7; no other magnitude
    /// does, and no byte carries into the next). Bits 0–6 are noise: OR results together, then test <see cref="NaNFlagMask"/>.
    /// </summary>
    public static uint NaNFlags(uint packed) => (packed & 0x7F7F_7F7Fu) + 0x0101_0101u;

    /// <summary>The bits of <see cref="NaNFlags"/> that mean "this byte is NaN".</summary>
    public const uint NaNFlagMask = 0x8080_8080u;

    /// <summary>
    /// The e4m3 byte in bits 24..31 of <paramref name="top"/> (lower bits ignored), NaN not special-cased: an arithmetic
    /// shift by 4 keeps the sign at bit 31 and moves the 7 magnitude bits to float's bits 20..26; the mask drops the
    /// sign's copies and the lower bytes. Then the same exact ×2^120 rebias as <see cref="ToFloat"/> (the sign rides along).
    /// </summary>
    private static float WidenTopByte(uint top) =>
        Interop.IntAsFloat((uint)((int)top >> 4) & 0x87F0_0000u) * Interop.IntAsFloat(0x7B80_0000u);

    /// <summary>
    /// Rounds to the nearest e4m3 value, ties to even. Magnitudes beyond 448 (infinities included) saturate to ±448,
    /// as DeepSeek's quantizer clamps before casting; NaN stays NaN (<c>0x7F</c> with the input's sign).
    /// </summary>
    public static byte FromFloat(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        uint sign = (bits >> 24) & SignMask;
        uint magnitudeBits = bits & 0x7FFF_FFFFu;
        if (magnitudeBits > 0x7F80_0000u)
            return (byte)(sign | NaNMagnitude);

        uint encoded = magnitudeBits >= 0x3C80_0000u
            ? RoundNormal(magnitudeBits)
            : RoundSubnormal(magnitudeBits);
        if (encoded > MaxFiniteMagnitude)
            encoded = MaxFiniteMagnitude;
        return (byte)(sign | encoded);
    }

    /// <summary>|v| ≥ 2^-6: drop 20 mantissa bits with round-to-nearest-even, then rebias the exponent from 127 to 7.
    /// A carry out of the mantissa correctly bumps the exponent; results above 0x7E are saturated by the caller.</summary>
    private static uint RoundNormal(uint magnitudeBits)
    {
        uint lowestKeptBit = (magnitudeBits >> 20) & 1u;
        uint rounded = (magnitudeBits + 0x7FFFFu + lowestKeptBit) >> 20;
        return rounded - (120u << 3);
    }

    /// <summary>|v| &lt; 2^-6: the result is round(|v| / 2^-9) ∈ [0, 8] (8 is the smallest normal, 0x08, so the
    /// encodings join up). Computed on the integer significand so no float rounding mode is involved.</summary>
    private static uint RoundSubnormal(uint magnitudeBits)
    {
        int exponent = (int)(magnitudeBits >> 23) - 127;
        if (exponent < -10)
            return 0; // below 2^-10 = a quarter of the smallest subnormal step: rounds to zero
        uint significand = (magnitudeBits & 0x7F_FFFFu) | 0x80_0000u; // value = significand · 2^(exponent-23)
        int shift = 14 - exponent;                                     // value / 2^-9 = significand >> shift; shift ∈ [21, 24]
        uint quotient = significand >> shift;
        uint remainder = significand & ((1u << shift) - 1u);
        uint half = 1u << (shift - 1);
        if (remainder > half || (remainder == half && (quotient & 1u) != 0))
            quotient++;
        return quotient;
    }
}
