using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// The MoE output <c>y[n] = Σ_k w[n,k]·expert_out[slot(n,k)] + shared[n]</c> (DSA.md §3 MoE step 4). Written as a
/// gather per token (each output element sums its K slots in k order, then adds the shared experts' output), which
/// is the scatter-add of the permuted outputs with a fixed, deterministic order and no atomics. A pair without a slot
/// (−1: its expert is held by another rank) adds nothing.
/// </summary>
public static partial class MoeKernels
{
    [Kernel(Grid = "tokenCount", GridY = "(hidden + 127) / 128", GroupSize = "128")]
    public static void CombineExperts(
        ArrayView<float> expertOutputs, // [slots, H] routed experts' outputs in slot order
        ArrayView<int> pairSlots,       // [N·K] pair → slot
        ArrayView<float> expertWeights, // [N·K] routing weights
        ArrayView<float> sharedOutput,  // [N, H] shared experts' output
        ArrayView<float> output,        // [N, H] out
        int tokenCount,
        int hidden,
        int topk)
    {
        int token = Grid.IdxX;
        int j = Grid.IdxY * Group.DimX + Group.IdxX;
        if (j >= hidden)
            return;
        float sum = 0f;
        for (int k = 0; k < topk; k++)
        {
            int pair = token * topk + k;
            int slot = pairSlots[pair];
            if (slot >= 0)
                sum += expertWeights[pair] * expertOutputs[(long)slot * hidden + j];
        }
        output[(long)token * hidden + j] = sum + sharedOutput[(long)token * hidden + j];
    }
}
