using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.Activations;
using KernelSharp.Kernels.Tensors;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// A prefill's routed experts on the tensor cores (<see cref="PrefillMatmul.TensorCores"/>), over one MoE layer's stacks:
/// the slots' token rows gathered in slot order and rounded to bf16, then one grouped GEMM launch per projection
/// (<see cref="TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/> over <see cref="ExpertSlotItems"/>) whose tile
/// table (<see cref="MoeKernels.ExpertItemGroups"/>, 128 slots of one expert a tile) stays on the device: a fixed
/// handful of launches per layer and no host round trip, where the per-expert path launched a GEMM sequence for each
/// expert that received tokens after downloading the expert offsets. The numbers are the per-expert tensor-core path's:
/// x rounded to bf16, sums in fp32, SwiGLU in fp32, its output rounded to bf16 for the down projection.
/// Applied to the gate stack; up and down were stacked from the same format (<see cref="KernelExpertStack.Upload"/>),
/// which is bf16 or FP8 with block scales: the two the grouped GEMMs read.
/// </summary>
internal readonly struct GroupedTensorCoreExpertLaunch(
    KernelStorage storage,
    KernelExpertStack stack,
    KernelTensor x,                 // [N, H]
    ArrayView<int> permutedPairs,   // [slots] slot → pair (token·K + k)
    ArrayView<int> slotExperts,     // [slots]
    ArrayView<int> expertOffsets,   // [E + 1] first slot of each expert
    KernelTensor slotOutputs,       // [slots, H] out
    int topk) : ITensorCoreWeightOperation
{
    public void Run<TWeights>(TWeights gate) where TWeights : struct, ITensorCoreRows<TWeights>
    {
        var up = ((IStoredRows<TWeights>)stack.Up).Weights;
        var down = ((IStoredRows<TWeights>)stack.Down).Weights;
        int slots = slotOutputs.Rows, hidden = stack.Hidden, intermediate = stack.Intermediate;
        var device = storage.Device;
        int groupCount = (slots + TensorCoreGemmKernels.GroupRows - 1) / TensorCoreGemmKernels.GroupRows + stack.ExpertCount;
        using var groupFirst = storage.Buffer<int>(groupCount); // [G] first slot of each tile of slots (−1: none)
        using var groupEnd = storage.Buffer<int>(groupCount);   // [G] one past its last slot
        MoeKernels.LaunchExpertItemGroups(device, expertOffsets, groupFirst.View, groupEnd.View, stack.ExpertCount, groupCount, TensorCoreGemmKernels.GroupRows);

        using var gathered = storage.NewTensor(slots, hidden);             // [slots, H] fp32 token rows in slot order
        using var slotRows = storage.Buffer<ushort>((long)slots * hidden); // [slots, H] bf16
        ExpertGatherKernels.LaunchGatherSlotRows(device, x.View, permutedPairs, gathered.View, 0, slots, hidden, topk);
        TensorKernels.LaunchToBf16(device, gathered.View, slotRows.View, checked(slots * hidden));

        using var gated = storage.NewTensor(slots, intermediate);                 // [slots, I] gate·x, then silu(gate·x)·(up·x)
        using var linear = storage.NewTensor(slots, intermediate);                // [slots, I] up·x
        using var activations = storage.Buffer<ushort>((long)slots * intermediate); // [slots, I] bf16
        var table = new SlotTiles(slotExperts, groupFirst.View, groupEnd.View, groupCount);
        Multiply(device, slotRows.View, gate, gated, table, intermediate, hidden);
        Multiply(device, slotRows.View, up, linear, table, intermediate, hidden);
        SwiGluKernels.LaunchSwiGlu(device, gated.View, linear.View, gated.View, checked(slots * intermediate));
        TensorKernels.LaunchToBf16(device, gated.View, activations.View, checked(slots * intermediate));
        Multiply(device, activations.View, down, slotOutputs, table, hidden, intermediate);
    }

    /// <summary>output [slots, n] = a [slots, k] · W_eᵀ per slot's expert e, W the stacked [E, n, k] in its format.</summary>
    private static void Multiply<TWeights>(KernelDevice device, ArrayView<ushort> a, TWeights weights, KernelTensor output, SlotTiles table, int n, int k)
        where TWeights : struct, ITensorCoreRows<TWeights> =>
        TensorCoreGemmKernels.LaunchTensorCoreGemm(device, a, weights, ExpertSlotItems.OwnRows(table.First, table.End, table.SlotExperts),
            output.View, table.Count, n, k);

    /// <summary>The device tile table: each tile's first and end slot (128 slots of one expert at most) and each slot's expert.</summary>
    private readonly record struct SlotTiles(ArrayView<int> SlotExperts, ArrayView<int> First, ArrayView<int> End, int Count);
}
