using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

public static partial class MoeKernels
{
    /// <summary>
    /// The tile table of <see cref="Linear.TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/> when every
    /// "expert" has the same number of slots, laid one after another (the heads of a prompt's kv_b projections: head
    /// h's T rows are slots h·T … h·T + T − 1): group g covers slots [first[g], end[g]) of one head, up to <paramref
    /// name="itemsPerGroup"/> of them, heads in order, as <see cref="ExpertItemGroups"/> would cut offsets 0, T, 2T, …
    /// without reading them; and slotExperts[s] = s / T. One thread per slot (the first G threads also write the
    /// table).
    /// </summary>
    [Kernel(Grid = "(int)(((long)experts * itemsPerExpert + 255) / 256)", GroupSize = "256")]
    public static void UniformItemGroups(
        ArrayView<int> slotExperts,     // [E·T] out: slot → expert
        ArrayView<int> groupFirstSlots, // [E·ceil(T / items)] out: the group's first slot
        ArrayView<int> groupEndSlots,   // [E·ceil(T / items)] out: one past its last slot
        int experts,
        int itemsPerExpert,             // T
        int itemsPerGroup)
    {
        long slot = (long)Grid.IdxX * 256 + Group.IdxX;
        if (slot >= (long)experts * itemsPerExpert)
            return;
        slotExperts[slot] = (int)(slot / itemsPerExpert);
        int groupsPerExpert = (itemsPerExpert + itemsPerGroup - 1) / itemsPerGroup;
        if (slot < (long)experts * groupsPerExpert)
        {
            int g = (int)slot;
            int expert = g / groupsPerExpert;
            int first = expert * itemsPerExpert + g % groupsPerExpert * itemsPerGroup;
            int end = (expert + 1) * itemsPerExpert;
            groupFirstSlots[g] = first;
            groupEndSlots[g] = first + itemsPerGroup < end ? first + itemsPerGroup : end;
        }
    }
}
