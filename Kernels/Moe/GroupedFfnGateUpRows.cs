using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Activations;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// The routed experts' SwiGLU FFN of <see cref="GroupedFfnGateUp{TWeights}"/> / <see cref="GroupedFfnDown{TWeights}"/>
/// in the warp-rows form of <see cref="Linear.GemvKernels.GemvRows{TWeights}"/>, for GPUs: a group owns 8 weight rows
/// (4 warps of 2) and one group of up to 4 slots of one expert (<see cref="ExpertItemGroups"/>), so each 16-byte weight
/// chunk is loaded once for every slot of the group instead of once per slot.
/// </summary>
/// <remarks>
/// Measured with Nsight Compute on an H100 (mid-5b, 64 sequences, 384 slots over 64 experts): the slot-per-group
/// kernels read the expert weights once per slot, 0.60 ms (gate/up) and 0.40 ms (down) per layer, mostly from L2.
/// A slot's sums do not depend on the slots walked with it: <see cref="IRowFormat{TSelf}.WarpRowPartials"/> gives each
/// (row, item) the same lane chunks in the same order for any item count, and the warp sum is the same butterfly,
/// so a sequence's tokens are the same alone or in a batch (and the same as the slot-per-group kernels', whose
/// lanes walk the chunks of <see cref="IRowFormat{TSelf}.StridedRowDot"/> in that order, where rows are 16-byte aligned).
/// </remarks>
public static partial class MoeKernels
{
    /// <summary>Weight rows per warp of the rows form (and 4 warps per group: 8 rows per group).</summary>
    public const int ExpertRowsPerWarp = 2;

    [Kernel(Grid = "(intermediate + 7) / 8", GridY = "groupCount", GroupSize = "128")]
    public static void GroupedFfnGateUpRows<TWeights>(
        ArrayView<float> x,               // [N, H] normalized hidden states
        ArrayView<int> permutedPairs,     // [slots] slot → pair (token·K + k)
        ArrayView<int> slotExperts,       // [slots] slot → expert
        ArrayView<int> groupFirstSlots,   // [G] each item group's first slot (−1: none), from ExpertItemGroups
        ArrayView<int> groupEndSlots,     // [G] one past its last slot
        TWeights gateWeights,             // [E, I, H] gate_proj
        TWeights upWeights,               // [E, I, H] up_proj
        ArrayView<float> activations,     // [slots, I] out: silu(gate·x)·(up·x)
        int groupCount,
        int hidden,
        int intermediate,
        int topk,
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
        var starts = new ItemStarts(TokenStart(permutedPairs, first, 0, end, topk, hidden), TokenStart(permutedPairs, first, 1, end, topk, hidden),
            TokenStart(permutedPairs, first, 2, end, topk, hidden), TokenStart(permutedPairs, first, 3, end, topk, hidden));
        ItemRowSums gate = gateWeights.Matrix(expert, intermediate, hidden)
            .WarpRowPartials(intermediate, hidden, x, starts, itemsPerWarp, firstRow, rowsPerWarp, chunksInFlight, lane, KsWarp.Size);
        ItemRowSums up = upWeights.Matrix(expert, intermediate, hidden)
            .WarpRowPartials(intermediate, hidden, x, starts, itemsPerWarp, firstRow, rowsPerWarp, chunksInFlight, lane, KsWarp.Size);
        for (int k = 0; k < itemsPerWarp; k++)
        {
            for (int j = 0; j < rowsPerWarp; j++)
            {
                float gateSum = KsWarp.Sum(gate.Row(k, j));
                float upSum = KsWarp.Sum(up.Row(k, j));
                if (lane == 0 && first + k < end && firstRow + j < intermediate)
                    activations[(long)(first + k) * intermediate + firstRow + j] = SwiGluKernels.Silu(gateSum) * upSum;
            }
        }
    }

    /// <summary>Where the token of item <paramref name="k"/> of the group starts in x; past the group, the group's last
    /// token again: read, never stored.</summary>
    private static long TokenStart(ArrayView<int> permutedPairs, int first, int k, int end, int topk, int hidden) =>
        (long)(permutedPairs[first + k < end ? first + k : end - 1] / topk) * hidden;
}
