using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Synthetic;

/// <summary>
/// Fills a device buffer with a generated weight (<see cref="SyntheticWeightStream"/>): a full-size model's weights
/// made where they live, with no checkpoint on disk and no host copy. <paramref name="first"/> is the stream index of
/// element 0 of the view, so a tensor can be filled in pieces (or a slice of it alone) with the same values.
/// One element per thread; the cost is the hash's 64-bit multiplies rather than the write (not yet timed on a GPU).
/// </summary>
public static partial class SyntheticWeightKernels
{
    /// <summary>target[i] = bf16(halfWidth · u(key, first + i)).</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void FillSyntheticBf16(
        ArrayView<ushort> target, // [count] bf16 bits
        ulong key,
        long first,
        float halfWidth,
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            target[i] = SyntheticWeightStream.Bf16Bits(key, first + i, halfWidth);
    }

    /// <summary>target[i] = e4m3(448 · u(key, first + i)); the weight is that code times the block scale halfWidth / 448.</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void FillSyntheticFp8(
        ArrayView<byte> target, // [count] e4m3 codes
        ulong key,
        long first,
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            target[i] = SyntheticWeightStream.Fp8Code(key, first + i);
    }

    /// <summary>target[i] = the fp32 value of the weight stored as <paramref name="storedAs"/> (<see cref="SyntheticStorage"/>): tables kernels read in fp32.</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void FillSyntheticFloat(
        ArrayView<float> target, // [count]
        ulong key,
        long first,
        float halfWidth,
        int storedAs,
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            target[i] = SyntheticWeightStream.Widened(key, first + i, halfWidth, storedAs);
    }
}
