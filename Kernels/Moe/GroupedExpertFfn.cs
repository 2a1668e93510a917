using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// The routed experts' SwiGLU FFN <c>down(silu(gate·x) ⊙ up·x)</c> over the expert-sorted slots of
/// <see cref="MoeKernels.PermuteByExpert"/>: each slot is one (token, expert) pair, and neighbouring slots share an
/// expert, so neighbouring groups read the same weight rows (variable token counts per expert need no padding).
/// Two kernels per weight format: gate/up with the activation (<c>[slots, I]</c>), then down (<c>[slots, H]</c>).
/// Weights are stacked per expert: gate/up <c>[E, I, H]</c>, down <c>[E, H, I]</c> (bf16), or e4m3 with DeepSeek's
/// 128×128 block scales per expert matrix (<c>[E, ceil(rows/128), ceil(cols/128)]</c>).
/// The shared experts are the same kernels with one "expert", K = 1 and the identity permutation
/// (slot n = token n, slotExperts all 0): their weights are one merged SwiGLU of width I·n_shared.
/// </summary>
/// <remarks>
/// Two variants per kernel, picked by <c>groupSize</c>: 128 threads give one weight row per warp, its 32 lanes
/// reading consecutive 16-byte pieces of the row (coalesced, the GPU shape: decode is bound by weight bytes);
/// 1 thread gives one row per thread with a whole-row dot product (the CPU path's TensorPrimitives shape).
/// </remarks>
public static partial class MoeKernels
{
    [Kernel(Grid = "slotCount", GridY = "(intermediate + (groupSize + 31) / 32 - 1) / ((groupSize + 31) / 32)", GroupSize = "groupSize")]
    public static void GroupedFfnGateUpBf16(
        ArrayView<float> x,             // [N, H] normalized hidden states
        ArrayView<int> permutedPairs,   // [slots] slot → pair (token·K + k)
        ArrayView<int> slotExperts,     // [slots] slot → expert
        ArrayView<ushort> gateWeights,  // [E, I, H] gate_proj, bf16
        ArrayView<ushort> upWeights,    // [E, I, H] up_proj, bf16
        ArrayView<float> activations,   // [slots, I] out: silu(gate·x)·(up·x)
        int slotCount,
        int hidden,
        int intermediate,
        int topk,
        [Constant(128, 1)] int groupSize)
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
            long xStart = (long)(permutedPairs[slot] / topk) * hidden;
            long wStart = ((long)slotExperts[slot] * intermediate + i) * hidden;
            gatePartial = ExpertMath.PartialDotBf16(gateWeights, wStart, x, xStart, hidden, lane, lanes);
            upPartial = ExpertMath.PartialDotBf16(upWeights, wStart, x, xStart, hidden, lane, lanes);
        }
        var gate = KsWarp.Sum(gatePartial);
        var up = KsWarp.Sum(upPartial);
        if (i < intermediate && lane == 0)
            activations[(long)slot * intermediate + i] = ExpertMath.SwiGlu(gate, up);
    }

    [Kernel(Grid = "slotCount", GridY = "(hidden + (groupSize + 31) / 32 - 1) / ((groupSize + 31) / 32)", GroupSize = "groupSize")]
    public static void GroupedFfnDownBf16(
        ArrayView<float> activations,   // [slots, I]
        ArrayView<int> slotExperts,     // [slots] slot → expert
        ArrayView<ushort> downWeights,  // [E, H, I] down_proj, bf16
        ArrayView<float> expertOutputs, // [slots, H] out
        int slotCount,
        int hidden,
        int intermediate,
        [Constant(128, 1)] int groupSize)
    {
        int slot = Grid.IdxX;
        int rowsPerGroup = (Group.DimX + 31) / 32;
        int lanes = Group.DimX / rowsPerGroup;
        int lane = Group.IdxX % lanes;
        int j = Grid.IdxY * rowsPerGroup + Group.IdxX / lanes;
        float partial = 0f;
        if (j < hidden)
        {
            long wStart = ((long)slotExperts[slot] * hidden + j) * intermediate;
            partial = ExpertMath.PartialDotBf16(downWeights, wStart, activations, (long)slot * intermediate, intermediate, lane, lanes);
        }
        var sum = KsWarp.Sum(partial);
        if (j < hidden && lane == 0)
            expertOutputs[(long)slot * hidden + j] = sum;
    }

    [Kernel(Grid = "slotCount", GridY = "(intermediate + (groupSize + 31) / 32 - 1) / ((groupSize + 31) / 32)", GroupSize = "groupSize")]
    public static void GroupedFfnGateUpFp8(
        ArrayView<float> x,             // [N, H]
        ArrayView<int> permutedPairs,   // [slots]
        ArrayView<int> slotExperts,     // [slots]
        ArrayView<byte> gateWeights,    // [E, I, H] e4m3
        ArrayView<float> gateScales,    // [E, ceil(I/128), ceil(H/128)] block scales (scale_inv)
        ArrayView<byte> upWeights,      // [E, I, H] e4m3
        ArrayView<float> upScales,      // [E, ceil(I/128), ceil(H/128)]
        ArrayView<float> activations,   // [slots, I] out
        int slotCount,
        int hidden,
        int intermediate,
        int topk,
        [Constant(128, 1)] int groupSize)
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
            long wStart = ((long)expert * intermediate + i) * hidden;
            long scaleStart = ExpertMath.BlockScaleRow(expert, i, intermediate, hidden);
            gatePartial = ExpertMath.PartialDotFp8Blocked(gateWeights, wStart, gateScales, scaleStart, x, xStart, hidden, lane, lanes);
            upPartial = ExpertMath.PartialDotFp8Blocked(upWeights, wStart, upScales, scaleStart, x, xStart, hidden, lane, lanes);
        }
        var gate = KsWarp.Sum(gatePartial);
        var up = KsWarp.Sum(upPartial);
        if (i < intermediate && lane == 0)
            activations[(long)slot * intermediate + i] = ExpertMath.SwiGlu(gate, up);
    }

    [Kernel(Grid = "slotCount", GridY = "(hidden + (groupSize + 31) / 32 - 1) / ((groupSize + 31) / 32)", GroupSize = "groupSize")]
    public static void GroupedFfnDownFp8(
        ArrayView<float> activations,   // [slots, I]
        ArrayView<int> slotExperts,     // [slots]
        ArrayView<byte> downWeights,    // [E, H, I] e4m3
        ArrayView<float> downScales,    // [E, ceil(H/128), ceil(I/128)]
        ArrayView<float> expertOutputs, // [slots, H] out
        int slotCount,
        int hidden,
        int intermediate,
        [Constant(128, 1)] int groupSize)
    {
        int slot = Grid.IdxX;
        int rowsPerGroup = (Group.DimX + 31) / 32;
        int lanes = Group.DimX / rowsPerGroup;
        int lane = Group.IdxX % lanes;
        int j = Grid.IdxY * rowsPerGroup + Group.IdxX / lanes;
        float partial = 0f;
        if (j < hidden)
        {
            int expert = slotExperts[slot];
            long wStart = ((long)expert * hidden + j) * intermediate;
            long scaleStart = ExpertMath.BlockScaleRow(expert, j, hidden, intermediate);
            partial = ExpertMath.PartialDotFp8Blocked(downWeights, wStart, downScales, scaleStart, activations, (long)slot * intermediate, intermediate, lane, lanes);
        }
        var sum = KsWarp.Sum(partial);
        if (j < hidden && lane == 0)
            expertOutputs[(long)slot * hidden + j] = sum;
    }
}
