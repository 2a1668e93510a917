using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Moe;

public static partial class MoeKernels
{
    [Kernel(Grid = "slotCount", GridY = "(hidden + (groupSize + 31) / 32 - 1) / ((groupSize + 31) / 32)", GroupSize = "groupSize")]
    public static void GroupedFfnDown<TWeights>(
        ArrayView<float> activations,   // [slots, I]
        ArrayView<int> slotExperts,     // [slots] slot → expert
        TWeights downWeights,           // [E, H, I] down_proj
        ArrayView<float> expertOutputs, // [slots, H] out
        int slotCount,
        int hidden,
        int intermediate,
        [Constant(128, 1)] int groupSize)
        where TWeights : struct, IRowFormat<TWeights>
    {
        int slot = Grid.IdxX;
        int rowsPerGroup = (Group.DimX + 31) / 32;
        int lanes = Group.DimX / rowsPerGroup;
        int lane = Group.IdxX % lanes;
        int j = Grid.IdxY * rowsPerGroup + Group.IdxX / lanes;
        float partial = 0f;
        if (j < hidden)
        {
            TWeights down = downWeights.Matrix(slotExperts[slot], hidden, intermediate);
            long activationStart = (long)slot * intermediate;
            partial = groupSize == 1
                ? down.RowDot(j, intermediate, activations, activationStart)
                : down.StridedRowDot(j, intermediate, activations, activationStart, lane, lanes);
        }
        var sum = KsWarp.Sum(partial);
        if (j < hidden && lane == 0)
            expertOutputs[(long)slot * hidden + j] = sum;
    }
}
