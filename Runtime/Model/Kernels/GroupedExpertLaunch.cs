using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Moe;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// The grouped expert FFN of one MoE layer over its stacks (<see cref="MoeKernels.GroupedFfnGateUp{TWeights}"/> then
/// <see cref="MoeKernels.GroupedFfnDown{TWeights}"/>), in the stacks' format. Applied to the gate stack; the up and down
/// stacks were stacked from the same checkpoint format (<see cref="KernelExpertStack.Upload"/> checks it), so they are
/// the same <see cref="KernelWeight{TWeights}"/>.
/// </summary>
internal readonly struct GroupedExpertLaunch(
    KernelDevice device,
    KernelExpertStack stack,
    KernelTensor x,                 // [N, H]
    ArrayView<int> permutedPairs,   // [slots]
    ArrayView<int> slotExperts,     // [slots]
    KernelTensor activations,       // [slots, I] out
    KernelTensor slotOutputs,       // [slots, H] out
    int topk) : IWeightOperation
{
    public void Run<TWeights>(TWeights gate) where TWeights : struct, IRowFormat<TWeights>
    {
        var up = ((KernelWeight<TWeights>)stack.Up).Weights;
        var down = ((KernelWeight<TWeights>)stack.Down).Weights;
        int slots = activations.Rows, hidden = stack.Hidden, intermediate = stack.Intermediate;
        MoeKernels.LaunchGroupedFfnGateUp(device, x.View, permutedPairs, slotExperts, gate, up, activations.View, slots, hidden, intermediate, topk);
        MoeKernels.LaunchGroupedFfnDown(device, activations.View, slotExperts, down, slotOutputs.View, slots, hidden, intermediate);
    }
}
