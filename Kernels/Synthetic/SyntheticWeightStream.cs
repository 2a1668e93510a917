using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Synthetic;

/// <summary>
/// The counter-based random stream behind generated weights: element i of a tensor is a pure function of the tensor's
/// key (seed and name, mixed on the host) and i, so values do not depend on the order, the chunking or the device
/// that produces them. Integer operations and single float multiplies only, so a kernel and the host compute the same
/// bits (no multiply-add a GPU compiler could fuse into one rounding). The stream is the one <c>create-model</c>
/// writes checkpoints from, so a bf16 synthetic model equals the checkpoint <c>create-model</c> writes with the same seed.
/// </summary>
public static class SyntheticWeightStream
{
    /// <summary>Weyl increment between consecutive elements (the golden ratio in 64 bits, as in SplitMix64).</summary>
    public const ulong ElementStride = 0x9E3779B97F4A7C15;

    /// <summary>One unit of the 24-bit grid of <see cref="Unit"/>: 2^-23, so 2^24 steps span [-1, 1).</summary>
    private const float UnitStep = 1f / (1 << 23);

    /// <summary>SplitMix64's finalizer: a bijective mix whose outputs for consecutive inputs look independent.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>Element <paramref name="index"/> of the stream <paramref name="key"/>: uniform on the grid k·2^-23 − 1, k &lt; 2^24, in [-1, 1).</summary>
    public static float Unit(ulong key, long index)
    {
        ulong bits = Mix(key + ((ulong)index * ElementStride));
        // The top 24 bits as an int: exact in float, and a signed conversion, which ILGPU emits directly (it takes
        // unsigned ones through double).
        return ((int)(bits >> 40) * UnitStep) - 1f;
    }

    /// <summary>A zero-mean value of half-width <paramref name="halfWidth"/>: uniform on [-halfWidth, halfWidth).</summary>
    public static float Centered(ulong key, long index, float halfWidth) => halfWidth * Unit(key, index);

    /// <summary>The value of <see cref="Centered"/> rounded to bf16 (nearest, ties to even).</summary>
    public static ushort Bf16Bits(ulong key, long index, float halfWidth) => Bf16.FromFloat(Centered(key, index, halfWidth));

    /// <summary>
    /// The e4m3 code of an FP8 weight whose block scale is halfWidth / 448: the unit value times 448, so the codes span
    /// the whole e4m3 range as a measured block maximum would (the largest |value| of a block of 16384 is within 0.01%
    /// of the bound), but without a reduction over the block: each code is a function of its own index only.
    /// </summary>
    public static byte Fp8Code(ulong key, long index) => Fp8E4M3.FromFloat(Fp8E4M3.MaxValue * Unit(key, index));

    /// <summary>The fp32 value of a weight generated in <paramref name="storedAs"/> and widened back: what a backend that computes in fp32 sees.</summary>
    public static float Widened(ulong key, long index, float halfWidth, int storedAs) => storedAs switch
    {
        SyntheticStorage.Bf16 => Bf16.ToFloat(Bf16Bits(key, index, halfWidth)),
        SyntheticStorage.Fp8 => Fp8E4M3.ToFloat(Fp8Code(key, index)) * Fp8Scale(halfWidth),
        _ => Centered(key, index, halfWidth),
    };

    /// <summary>The block scale (scale_inv) of every block of an FP8 weight of half-width <paramref name="halfWidth"/>.</summary>
    public static float Fp8Scale(float halfWidth) => halfWidth / Fp8E4M3.MaxValue;
}
