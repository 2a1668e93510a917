using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Activations;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// The routed experts' SwiGLU FFN <c>down(silu(gate·x) ⊙ up·x)</c> over the expert-sorted slots of
/// <see cref="MoeKernels.PermuteByExpert"/>: each slot is one (token, expert) pair, and neighbouring slots share an
/// expert, so neighbouring groups read the same weight rows (variable token counts per expert need no padding).
/// Two kernels, each written once for every weight format (<see cref="IRowFormat{TSelf}"/>): gate/up with the
/// activation (<c>[slots, I]</c>), then down (<c>[slots, H]</c>). Weights are stacked per expert: gate/up <c>[E, I, H]</c>,
/// down <c>[E, H, I]</c>, each expert's matrix with its own scale grid where the format has one
/// (<see cref="IRowFormat{TSelf}.Matrix"/>).
/// The shared experts are the same kernels with one "expert", K = 1 and the identity permutation
/// (slot n = token n, slotExperts all 0): their weights are one merged SwiGLU of width I·n_shared.
/// </summary>
/// <remarks>
/// Two variants per kernel, picked by <c>groupSize</c>: 128 threads give one weight row per warp, its 32 lanes
/// reading consecutive 16-byte chunks of the row (coalesced, the GPU shape: decode is bound by weight bytes);
/// 1 thread gives one row per thread with a whole-row dot product (the CPU path's TensorPrimitives shape).
/// </remarks>
public static partial class MoeKernels
{
    [Kernel(Grid = "slotCount", GridY = "(intermediate + (groupSize + 31) / 32 - 1) / ((groupSize + 31) / 32)", GroupSize = "groupSize")]
    public static void GroupedFfnGateUp<TWeights>(
        ArrayView<float> x,             // [N, H] normalized hidden states
        ArrayView<int> permutedPairs,   // [slots] slot → pair (token·K + k)
        ArrayView<int> slotExperts,     // [slots] slot → expert
        TWeights gateWeights,           // [E, I, H] gate_proj
        TWeights upWeights,             // [E, I, H] up_proj
        ArrayView<float> activations,   // [slots, I] out: silu(gate·x)·(up·x)
        int slotCount,
        int hidden,
        int intermediate,
        int topk,
        [Constant(128, 1)] int groupSize)
        where TWeights : struct, IRowFormat<TWeights>
    {
        int slot = Grid.IdxX;
        int rowsPerGroup = (Group.DimX + 31) / 32;
        int lanes = Group.DimX / rowsPerGroup;
        int lane = Group.IdxX % lanes;
        int i = Grid.IdxY * rowsPerGroup + Group.IdxX / lanes;
        float gatePartial = 0f;
        float upPartial = 0f;
        if (i < intermediate)
        {
            int expert = slotExperts[slot];
            long xStart = (long)(permutedPairs[slot] / topk) * hidden;
            TWeights gate = gateWeights.Matrix(expert, intermediate, hidden);
            TWeights up = upWeights.Matrix(expert, intermediate, hidden);
            gatePartial = groupSize == 1 ? gate.RowDot(i, hidden, x, xStart) : gate.StridedRowDot(i, hidden, x, xStart, lane, lanes);
            upPartial = groupSize == 1 ? up.RowDot(i, hidden, x, xStart) : up.StridedRowDot(i, hidden, x, xStart, lane, lanes);
        }
        var gateSum = KsWarp.Sum(gatePartial);
        var upSum = KsWarp.Sum(upPartial);
        if (i < intermediate && lane == 0)
            activations[(long)slot * intermediate + i] = SwiGluKernels.Silu(gateSum) * upSum;
    }
}
