using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// noaux_tc expert routing exactly as Hugging Face transformers computes it (DSA.md §3 MoE, steps 1–3): experts of
/// the dropped groups are not masked with −∞ (as <see cref="MoeKernels.MoeRouter"/> and DeepSeek's demo do) but
/// compete with a biased score of 0, which matters when fewer than k kept experts have b &gt; 0. The golden outputs
/// of the test fixtures come from transformers, so the model backend routes with this one. One thread per token;
/// any number of groups.
/// </summary>
public static partial class ZeroFillRouterKernels
{
    [Kernel(Grid = "(tokenCount + 31) / 32", GroupSize = "32")]
    public static void RouteZeroFill(
        ArrayView<float> logits,        // [N, E] router logits
        ArrayView<float> bias,          // [E] e_score_correction_bias
        ArrayView<float> scratch,       // [N, E + G] per token: candidate scores [E] then group scores [G]
        ArrayView<int> expertIds,       // [N, K] out: chosen experts, best biased score first
        ArrayView<float> expertWeights, // [N, K] out: their routing weights
        int tokenCount,
        int experts,
        int groups,
        int keptGroups,
        int topk,
        float scalingFactor,
        int normalize)
    {
        int token = Grid.IdxX * 32 + Group.IdxX;
        if (token >= tokenCount)
            return;
        long row = (long)token * experts;
        long candidates = (long)token * (experts + groups);
        long groupScores = candidates + experts;
        int perGroup = experts / groups;

        // group score = sum of the (up to) two largest b = sigmoid(logit) + bias in the group
        for (int g = 0; g < groups; g++)
        {
            float best = float.NegativeInfinity;
            float second = float.NegativeInfinity;
            for (int e = g * perGroup; e < (g + 1) * perGroup; e++)
            {
                float b = ZeroFillRouterMath.Sigmoid(logits[row + e]) + bias[e];
                scratch[candidates + e] = 0f; // dropped groups keep 0, as transformers' masked_fill(0.0)
                if (b > best)
                {
                    second = best;
                    best = b;
                }
                else if (b > second)
                {
                    second = b;
                }
            }
            scratch[groupScores + g] = perGroup >= 2 ? best + second : best;
        }

        // keep the best groups (ties → lower index): their experts' b become candidates; a kept group's score is
        // then set to −∞ so it is not picked again (group scores are finite)
        for (int pick = 0; pick < keptGroups; pick++)
        {
            int bestGroup = -1;
            float bestScore = float.NegativeInfinity;
            for (int g = 0; g < groups; g++)
            {
                float score = scratch[groupScores + g];
                if (score > bestScore)
                {
                    bestScore = score;
                    bestGroup = g;
                }
            }
            if (bestGroup < 0)
                break;
            scratch[groupScores + bestGroup] = float.NegativeInfinity;
            for (int e = bestGroup * perGroup; e < (bestGroup + 1) * perGroup; e++)
                scratch[candidates + e] = ZeroFillRouterMath.Sigmoid(logits[row + e]) + bias[e];
        }

        // the k largest candidates (ties → lower index); a picked one becomes −∞
        float sum = 0f;
        for (int k = 0; k < topk; k++)
        {
            int chosen = 0;
            float bestValue = float.NegativeInfinity;
            for (int e = 0; e < experts; e++)
            {
                float value = scratch[candidates + e];
                if (value > bestValue)
                {
                    bestValue = value;
                    chosen = e;
                }
            }
            scratch[candidates + chosen] = float.NegativeInfinity;
            float weight = ZeroFillRouterMath.Sigmoid(logits[row + chosen]);
            expertIds[(long)token * topk + k] = chosen;
            expertWeights[(long)token * topk + k] = weight;
            sum += weight;
        }

        float factor = normalize != 0 ? scalingFactor / (sum + 1e-20f) : scalingFactor;
        for (int k = 0; k < topk; k++)
            expertWeights[(long)token * topk + k] = expertWeights[(long)token * topk + k] * factor;
    }
}
