using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// The down projection of <see cref="GroupedFfnGateUpRows{TWeights}"/>'s warp-rows form (the rows form of
/// <see cref="GroupedFfnDown{TWeights}"/>): 8 weight rows per group, one group of up to 4 slots of one expert, each 16-byte
/// weight chunk loaded once for the group's slots. Why and what it guarantees: <see cref="GroupedFfnGateUpRows{TWeights}"/>.
/// </summary>
public static partial class MoeKernels
{
    [Kernel(Grid = "(hidden + 7) / 8", GridY = "groupCount", GroupSize = "128")]
    public static void GroupedFfnDownRows<TWeights>(
        ArrayView<float> activations,     // [slots, I]
        ArrayView<int> slotExperts,       // [slots] slot → expert
        ArrayView<int> groupFirstSlots,   // [G] each item group's first slot (−1: none), from ExpertItemGroups
        ArrayView<int> groupEndSlots,     // [G] one past its last slot
        TWeights downWeights,             // [E, H, I] down_proj
        ArrayView<float> expertOutputs,   // [slots, H] out
        int groupCount,
        int hidden,
        int intermediate,
        [Shape(1, 4)] int itemsPerWarp)
        where TWeights : struct, IRowFormat<TWeights>
    {
        const int rowsPerWarp = ExpertRowsPerWarp;
        const int chunksInFlight = 2;
        int first = groupFirstSlots[Grid.IdxY];
        if (first < 0)
            return; // past the last item group (the grid is sized for the worst case): the whole group leaves
        int end = groupEndSlots[Grid.IdxY];
        int lane = KsWarp.LaneIdx;
        int firstRow = Grid.IdxX * 4 * rowsPerWarp + Group.IdxX / KsWarp.Size * rowsPerWarp;
        int expert = slotExperts[first];
        var starts = new ItemStarts(SlotStart(first, 0, end, intermediate), SlotStart(first, 1, end, intermediate),
            SlotStart(first, 2, end, intermediate), SlotStart(first, 3, end, intermediate));
        ItemRowSums down = downWeights.Matrix(expert, hidden, intermediate)
            .WarpRowPartials(hidden, intermediate, activations, starts, itemsPerWarp, firstRow, rowsPerWarp, chunksInFlight, lane, KsWarp.Size);
        for (int k = 0; k < itemsPerWarp; k++)
        {
            for (int j = 0; j < rowsPerWarp; j++)
            {
                float sum = KsWarp.Sum(down.Row(k, j));
                if (lane == 0 && first + k < end && firstRow + j < hidden)
                    expertOutputs[(long)(first + k) * hidden + firstRow + j] = sum;
            }
        }
    }

    /// <summary>Where slot item <paramref name="k"/> of the group starts in the activations (past the group, the group's last slot again: read, never stored).</summary>
    private static long SlotStart(int first, int k, int end, int intermediate) =>
        (long)(first + k < end ? first + k : end - 1) * intermediate;
}
