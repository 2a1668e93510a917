using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Synthetic;

public static partial class SyntheticWeightKernels
{
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
