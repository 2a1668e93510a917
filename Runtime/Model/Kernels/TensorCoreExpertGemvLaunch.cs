using ILGPU;
using KernelSharp.Kernels.Activations;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Moe;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// The grouped expert FFN of a decode step (or a short prompt) on the tensor cores, for CUDA: the slots of each expert
/// in groups of up to 16 (<see cref="MoeKernels.ExpertItemGroups"/>), and <see cref="GemvKernels.TensorCoreGemv{TWeights, TItems}"/>
/// per projection over all groups (<see cref="ExpertSlotItems"/>: each group reads its expert's rows once for all of its
/// slots, where the rows form reads them once per 4 slots), then <see cref="SwiGluKernels.SwiGlu"/> between gate/up and down.
/// Every expert's matrix is its own set of groups, so no k-slices are needed to fill the GPU (one slice: the sums go
/// straight to the outputs). A slot's sums are the same bits whichever slots share its group (the kernel's batch invariance), so a sequence's
/// tokens do not depend on its batch. <see cref="Launched"/> is false where a projection's columns are not a multiple
/// of 128 or a weight view is off 16 bytes; the caller then takes the rows form.
/// </summary>
internal struct TensorCoreExpertGemvLaunch(
    KernelStorage storage,
    KernelExpertStack stack,
    KernelTensor x,                 // [N, H]
    ArrayView<int> permutedPairs,   // [slots] slot → pair (token·K + k)
    ArrayView<int> slotExperts,     // [slots]
    ArrayView<int> expertOffsets,   // [E + 1] first slot of each expert
    KernelTensor activations,       // [slots, I] out
    KernelTensor slotOutputs,       // [slots, H] out
    int topk) : ITensorCoreWeightOperation
{
    /// <summary>Slots per group: one item tile of the kernel (a decode batch of 64 gives each expert ~6).</summary>
    private const int SlotsPerGroup = 16;

    public bool Launched { get; private set; }

    public void Run<TWeights>(TWeights gate) where TWeights : struct, ITensorCoreRows<TWeights>
    {
        var up = ((IStoredRows<TWeights>)stack.Up).Weights;
        var down = ((IStoredRows<TWeights>)stack.Down).Weights;
        int slots = activations.Rows, hidden = stack.Hidden, intermediate = stack.Intermediate;
        if (!gate.TensorCoreReadable(hidden) || !up.TensorCoreReadable(hidden) || !down.TensorCoreReadable(intermediate))
            return;

        var device = storage.Device;
        int groupCount = (slots + SlotsPerGroup - 1) / SlotsPerGroup + stack.ExpertCount;
        using var groupFirst = storage.Buffer<int>(groupCount); // [G] first slot of each group (−1: none)
        using var groupEnd = storage.Buffer<int>(groupCount);   // [G] one past its last slot
        using var gated = storage.NewTensor(slots, intermediate); // [slots, I] gate·x, then silu(gate·x)·(up·x) goes to activations
        MoeKernels.LaunchExpertItemGroups(device, expertOffsets, groupFirst.View, groupEnd.View, stack.ExpertCount, groupCount, SlotsPerGroup);
        int tokenValues = checked(x.Rows * hidden), slotValues = checked(slots * intermediate);
        using var splitTokens = storage.Buffer<uint>(tokenValues);  // [N, H] hi/lo bf16 words of x
        using var splitSlots = storage.Buffer<uint>(slotValues);    // [slots, I] hi/lo bf16 words of the activations
        GemvKernels.LaunchSplitToBf16Pairs(device, x.View, splitTokens.View, tokenValues);
        var tokenSlots = new ExpertSlotItems(groupFirst.View, groupEnd.View, slotExperts, permutedPairs, topk); // a slot reads its token's row
        GemvKernels.LaunchTensorCoreGemv(device, gate, tokenSlots, splitTokens.View, gated.View, intermediate, hidden, groupCount, 1, 0, 1);
        GemvKernels.LaunchTensorCoreGemv(device, up, tokenSlots, splitTokens.View, activations.View, intermediate, hidden, groupCount, 1, 0, 1);
        SwiGluKernels.LaunchSwiGlu(device, gated.View, activations.View, activations.View, slotValues);
        GemvKernels.LaunchSplitToBf16Pairs(device, activations.View, splitSlots.View, slotValues);
        var ownRows = ExpertSlotItems.OwnRows(groupFirst.View, groupEnd.View, slotExperts); // a slot reads its own row
        GemvKernels.LaunchTensorCoreGemv(device, down, ownRows, splitSlots.View, slotOutputs.View, hidden, intermediate, groupCount, 1, 0, 1);
        Launched = true;
    }
}
