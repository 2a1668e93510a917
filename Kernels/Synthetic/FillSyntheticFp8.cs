using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Synthetic;

public static partial class SyntheticWeightKernels
{
    /// <summary>target[i] = e4m3(448 · u(key, first + i)); the weight is that code times the block scale halfWidth / 448.</summary>
    /// <remarks>Not folded with <see cref="FillSyntheticBf16"/>: another element type and encoding (a full-range code under a block scale, not the rounded weight), and a generic form would need a format interface longer than both kernels.</remarks>
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
}
