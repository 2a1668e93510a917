using ILGPU;

namespace KernelSharp.Kernels.TopK;

/// <summary>
/// The order-preserving integer key of a score used by <see cref="TopKKernels.TopKSelect"/>: a larger score has a
/// larger key, masked scores (−∞, NaN) have key 0, and −0 is folded onto +0 so the two zeros tie.
/// </summary>
public static class TopKOrder
{
    /// <summary>Maps a float to an unsigned key with the same order (the usual sign-flip trick on the IEEE bits).</summary>
    public static uint Key(float score)
    {
        uint bits = Interop.FloatAsInt(score);
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u || bits == 0xFF80_0000u)
            return 0u; // NaN or −∞: masked, never selected
        if (bits == 0x8000_0000u)
            bits = 0u; // −0 ties with +0
        // Negative floats order backwards as integers: flip all bits; positive ones: set the sign bit to sit above them.
        // The most negative finite float maps to 0x0080_0000, so 0 stays free for masked scores.
        return (bits & 0x8000_0000u) != 0u ? ~bits : bits | 0x8000_0000u;
    }

    /// <summary>
    /// One radix pass of a thread: counts, into <paramref name="histogram"/> (shared, [256]), the byte at
    /// <paramref name="shift"/> of every valid key of its strided slice whose higher bytes equal <paramref name="prefix"/>.
    /// </summary>
    public static void CountBins(
        ArrayView<float> scores, long rowStart, int length, int thread, int threads,
        uint prefix, uint prefixMask, int shift, ArrayView<int> histogram)
    {
        for (int t = thread; t < length; t += threads)
        {
            uint key = Key(scores[rowStart + t]);
            if (key != 0u && (key & prefixMask) == prefix)
                Atomic.Add(ref histogram[(int)((key >> shift) & 0xFFu)], 1);
        }
    }
}
