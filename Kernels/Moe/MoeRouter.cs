using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// DeepSeek-V3 "noaux_tc" expert routing (DSA.md §3 MoE, steps 1–3), one thread per token:
/// <c>s = sigmoid(logits)</c>, <c>b = s + e_score_correction_bias</c>; group score = sum of the two largest b in the
/// group; keep the <c>topk_group</c> best groups; pick <c>num_experts_per_tok</c> experts by b among them; weights =
/// the unbiased s of the picks, divided by their sum (+1e-20) when <c>norm_topk_prob</c>, times
/// <c>routed_scaling_factor</c>.
/// </summary>
/// <remarks>
/// Ties (equal group scores or equal b) go to the smaller index. Experts are written best first. Experts outside the
/// kept groups are never picked, as in DeepSeek's inference code (transformers fills them with 0.0 instead, which
/// differs only when fewer than k kept experts have b &gt; 0: see <see cref="ZeroFillRouterKernels.RouteZeroFill"/>).
/// At most 64 groups (kept groups are a bit mask).
/// The router logits <c>x·W_gateᵀ</c> come from Linear, in fp32.
/// A library kernel for callers checked against DeepSeek's inference code; the runtime routes with RouteZeroFill,
/// as transformers (and so its golden outputs) does (Kernels/README.md).
/// </remarks>
public static partial class MoeKernels
{
    public const int MaxGroups = 64;

    [Kernel(Grid = "(tokenCount + 31) / 32", GroupSize = "32")]
    public static void MoeRouter(
        ArrayView<float> logits,          // [N, E] router logits
        ArrayView<float> correctionBias,  // [E] e_score_correction_bias
        ArrayView<int> expertIds,         // [N, K] out: chosen experts, best biased score first
        ArrayView<float> expertWeights,   // [N, K] out: their routing weights
        int tokenCount,
        int experts,
        int groups,
        int topkGroups,
        int topk,
        float routedScalingFactor,
        int normalizeTopk)
    {
        int token = Grid.IdxX * Group.DimX + Group.IdxX;
        if (token >= tokenCount)
            return;
        long row = (long)token * experts;
        int perGroup = experts / groups;

        ulong keptGroups = 0ul;
        for (int round = 0; round < topkGroups; round++)
        {
            int best = -1;
            float bestScore = float.NegativeInfinity;
            for (int g = 0; g < groups; g++)
            {
                if (((keptGroups >> g) & 1ul) != 0ul)
                    continue;
                float score = RouterMath.GroupScore(logits, correctionBias, row, g * perGroup, perGroup);
                if (best < 0 || score > bestScore)
                {
                    best = g;
                    bestScore = score;
                }
            }
            keptGroups |= 1ul << best;
        }

        long output = (long)token * topk;
        float weightSum = 0f;
        for (int k = 0; k < topk; k++)
        {
            int best = -1;
            float bestScore = float.NegativeInfinity;
            for (int e = 0; e < experts; e++)
            {
                if (((keptGroups >> (e / perGroup)) & 1ul) == 0ul || RouterMath.AlreadyChosen(expertIds, output, k, e))
                    continue;
                float biased = RouterMath.Sigmoid(logits[row + e]) + correctionBias[e];
                if (best < 0 || biased > bestScore)
                {
                    best = e;
                    bestScore = biased;
                }
            }
            float weight = RouterMath.Sigmoid(logits[row + best]);
            expertIds[output + k] = best;
            expertWeights[output + k] = weight;
            weightSum += weight;
        }
        for (int k = 0; k < topk; k++)
        {
            float weight = expertWeights[output + k];
            if (normalizeTopk != 0)
                weight /= weightSum + 1e-20f;
            expertWeights[output + k] = weight * routedScalingFactor;
        }
    }
}
