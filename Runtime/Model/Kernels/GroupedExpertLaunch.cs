using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Moe;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// The grouped expert FFN of one MoE layer over its stacks, in the stacks' format: on GPUs the rows form
/// (<see cref="MoeKernels.ExpertItemGroups"/>, <see cref="MoeKernels.GroupedFfnGateUpRows{TWeights}"/>,
/// <see cref="MoeKernels.GroupedFfnDownRows{TWeights}"/>), on the host backends the slot-per-group kernels
/// (<see cref="MoeKernels.GroupedFfnGateUp{TWeights}"/> then <see cref="MoeKernels.GroupedFfnDown{TWeights}"/>). Applied to the gate stack; the up and down
/// stacks were stacked from the same checkpoint format (<see cref="KernelExpertStack.Upload"/> checks it), so they are
/// the same <see cref="KernelWeight{TWeights}"/>.
/// </summary>
internal readonly struct GroupedExpertLaunch(
    KernelStorage storage,
    KernelExpertStack stack,
    KernelTensor x,                 // [N, H]
    ArrayView<int> permutedPairs,   // [slots]
    ArrayView<int> slotExperts,     // [slots]
    ArrayView<int> expertOffsets,   // [E + 1] first slot of each expert
    KernelTensor activations,       // [slots, I] out
    KernelTensor slotOutputs,       // [slots, H] out
    int topk) : IWeightOperation
{
    public void Run<TWeights>(TWeights gate) where TWeights : struct, IRowFormat<TWeights>
    {
        var up = ((IStoredRows<TWeights>)stack.Up).Weights;
        var down = ((IStoredRows<TWeights>)stack.Down).Weights;
        int slots = activations.Rows, hidden = stack.Hidden, intermediate = stack.Intermediate;
        var device = storage.Device;
        if (device.Backend is KernelBackend.Cuda or KernelBackend.OpenCL)
        {
            // GPUs: the rows form loads each weight chunk once for up to 4 slots of one expert. Four only where the
            // experts hold two slots or more on average; with fewer, most groups would hold one slot and compute it 4 times.
            // A slot's sums are the same bits for either count, so this choice never changes a token.
            int items = slots >= 2 * stack.ExpertCount ? 4 : 1;
            int groupCount = (slots + items - 1) / items + stack.ExpertCount;
            using var groupFirst = storage.Buffer<int>(groupCount); // [G] first slot of each item group (−1: none)
            using var groupEnd = storage.Buffer<int>(groupCount);   // [G] one past its last slot
            MoeKernels.LaunchExpertItemGroups(device, expertOffsets, groupFirst.View, groupEnd.View, stack.ExpertCount, groupCount, items);
            MoeKernels.LaunchGroupedFfnGateUpRows(device, x.View, permutedPairs, slotExperts, groupFirst.View, groupEnd.View, gate, up, activations.View,
                groupCount, hidden, intermediate, topk, items);
            MoeKernels.LaunchGroupedFfnDownRows(device, activations.View, slotExperts, groupFirst.View, groupEnd.View, down, slotOutputs.View,
                groupCount, hidden, intermediate, items);
            return;
        }

        MoeKernels.LaunchGroupedFfnGateUp(device, x.View, permutedPairs, slotExperts, gate, up, activations.View, slots, hidden, intermediate, topk);
        MoeKernels.LaunchGroupedFfnDown(device, activations.View, slotExperts, down, slotOutputs.View, slots, hidden, intermediate);
    }
}
