using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// Gathers the token rows of a run of permuted slots (one expert's slots after <see cref="MoeKernels.PermuteByExpert"/>)
/// into a dense matrix, so an expert with fp32 weights can run as ordinary GEMMs on just its tokens.
/// </summary>
public static partial class ExpertGatherKernels
{
    /// <summary>gathered[s, :] = x[permutedPairs[firstSlot + s] / topk, :] for s &lt; slotCount.</summary>
    [Kernel(Grid = "slotCount", GridY = "(hidden + 127) / 128", GroupSize = "128")]
    public static void GatherSlotRows(
        ArrayView<float> x,           // [N, H] token rows
        ArrayView<int> permutedPairs, // [N·K] slot → pair (token·K + k)
        ArrayView<float> gathered,    // [slotCount, H] out
        int firstSlot,
        int slotCount,
        int hidden,
        int topk)
    {
        int s = Grid.IdxX;
        int j = Grid.IdxY * 128 + Group.IdxX;
        if (j < hidden)
        {
            long token = permutedPairs[firstSlot + s] / topk;
            gathered[(long)s * hidden + j] = x[token * hidden + j];
        }
    }
}
