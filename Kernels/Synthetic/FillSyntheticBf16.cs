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
}
