using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

/// <summary>Per-thread helpers shared by the indexer kernels (plain loops, valid in ILGPU kernels and on the host).</summary>
public static class IndexerMath
{
    public static float Relu(float x) => x > 0f ? x : 0f;

    /// <summary>Two fp32 values as a word of two bf16 (round to nearest even), the first in the low half.</summary>
    public static uint PackBf16(float first, float second) => Bf16.FromFloat(first) | ((uint)Bf16.FromFloat(second) << 16);

    /// <summary>
    /// The two e4m3 bytes at bit <paramref name="shift"/> (0 or 16) of <paramref name="word"/> as a word of two bf16,
    /// the lower byte in the low half. Every e4m3 value (NaN included) is a float whose low 16 bits are zero, so its
    /// bf16 is the top half of its bits: no rounding step.
    /// </summary>
    public static uint Fp8PairToBf16(uint word, int shift) =>
        (Interop.FloatAsInt(Fp8E4M3.ToFloat((byte)(word >> shift))) >> 16)
        | (Interop.FloatAsInt(Fp8E4M3.ToFloat((byte)(word >> (shift + 8)))) & 0xFFFF_0000u);

    /// <summary>w0·ReLU(C0) + w1·ReLU(C1): an mma lane's two heads for its first key row.</summary>
    public static float WeightedReluLow(MmaAccumulator c, float w0, float w1) => w0 * Relu(c.C0) + w1 * Relu(c.C1);

    /// <summary>w0·ReLU(C2) + w1·ReLU(C3): the same heads for the key row 8 below.</summary>
    public static float WeightedReluHigh(MmaAccumulator c, float w0, float w1) => w0 * Relu(c.C2) + w1 * Relu(c.C3);

    /// <summary>Σ over four heads of w[h]·ReLU(scale·dot[h]).</summary>
    public static float WeightedRelu(Float4 dots, Float4 weights, float scale) =>
        weights.X * Relu(scale * dots.X) + weights.Y * Relu(scale * dots.Y)
        + weights.Z * Relu(scale * dots.Z) + weights.W * Relu(scale * dots.W);
}
