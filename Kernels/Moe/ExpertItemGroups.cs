using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// Cuts each expert's run of slots (<see cref="PermuteByExpert"/>'s <c>expertOffsets</c>) into groups of up to
/// <c>itemsPerGroup</c> slots, so <see cref="GroupedFfnGateUpRows{TWeights}"/> and <see cref="GroupedFfnDownRows{TWeights}"/>
/// can load each weight chunk once for every slot of a group: group g covers slots [first[g], end[g]) of one expert.
/// Groups are numbered expert by expert; those past the last (the launch is sized for the worst case,
/// ceil(slots / items) + experts) get first = −1. One 256-thread group: thread e (strided over experts) sums the group
/// counts of the experts below it for its first group, like PermuteByExpert's offsets (no atomics, deterministic).
/// </summary>
public static partial class MoeKernels
{
    [Kernel(Grid = "1", GroupSize = "256")]
    public static void ExpertItemGroups(
        ArrayView<int> expertOffsets,   // [E+1] first slot of each expert; [E] = slots used
        ArrayView<int> groupFirstSlots, // [G] out: the group's first slot, −1 past the last group
        ArrayView<int> groupEndSlots,   // [G] out: one past the group's last slot
        int experts,
        int groupCount,
        int itemsPerGroup)
    {
        int thread = Group.IdxX;
        int threads = Group.DimX;
        for (int e = thread; e < experts; e += threads)
        {
            int first = 0;
            for (int below = 0; below < e; below++)
                first += (expertOffsets[below + 1] - expertOffsets[below] + itemsPerGroup - 1) / itemsPerGroup;
            int start = expertOffsets[e];
            int end = expertOffsets[e + 1];
            int groups = (end - start + itemsPerGroup - 1) / itemsPerGroup;
            for (int g = 0; g < groups && first + g < groupCount; g++)
            {
                groupFirstSlots[first + g] = start + g * itemsPerGroup;
                groupEndSlots[first + g] = Math.Min(end, start + (g + 1) * itemsPerGroup);
            }
            if (e == experts - 1)
            {
                for (int unused = first + groups; unused < groupCount; unused++)
                {
                    groupFirstSlots[unused] = -1;
                    groupEndSlots[unused] = -1;
                }
            }
        }
    }
}
