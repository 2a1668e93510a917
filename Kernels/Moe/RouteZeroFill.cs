using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>
/// noaux_tc expert routing exactly as Hugging Face transformers computes it (DSA.md §3 MoE, steps 1–3): experts of
/// the dropped groups are not masked with −∞ (as <see cref="MoeKernels.MoeRouter"/> and DeepSeek's demo do) but
/// compete with a biased score of 0, which matters when fewer than k kept experts have b &gt; 0. The golden outputs
/// of the test fixtures come from transformers, so the model backend routes with this one. One warp per token, any
/// number of experts and groups.
/// </summary>
/// <remarks>
/// The lanes share the experts (lane l takes experts l, l + 32, …) and every choice is a warp reduction: a decode step
/// routes one token, and one thread walking all experts once per pick was latency-bound (44 µs per layer on an H100
/// for 64 experts, 6 per token). Ties go to the lower index, and the weights are summed in pick order, so the result
/// is the serial reference's bit for bit.
/// </remarks>
public static partial class ZeroFillRouterKernels
{
    [Kernel(Grid = "tokenCount", GroupSize = "32")]
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
        int token = Grid.IdxX;
        int lane = Group.IdxX;
        long row = (long)token * experts;
        long candidates = (long)token * (experts + groups);
        long groupScores = candidates + experts;
        int perGroup = experts / groups;

        // group score = sum of the (up to) two largest b = sigmoid(logit) + bias in the group (a value held twice counts twice)
        for (int g = 0; g < groups; g++)
        {
            float best = float.NegativeInfinity;
            float second = float.NegativeInfinity;
            for (int e = g * perGroup + lane; e < (g + 1) * perGroup; e += 32)
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
            float groupBest = KsWarp.Max(best);
            float holders = KsWarp.Sum(best == groupBest ? 1f : 0f);
            float runnerUp = KsWarp.Max(best == groupBest ? second : best);
            float groupSecond = holders >= 2f ? groupBest : runnerUp;
            if (lane == 0)
                scratch[groupScores + g] = perGroup >= 2 ? groupBest + groupSecond : groupBest;
        }
        KsGroup.Barrier();

        // keep the best groups (ties → lower index): their experts' b become candidates; a kept group's score is
        // then set to −∞ so it is not picked again (group scores are finite)
        for (int pick = 0; pick < keptGroups; pick++)
        {
            float ownScore = float.NegativeInfinity;
            int ownGroup = 0;
            for (int g = lane; g < groups; g += 32)
            {
                float score = scratch[groupScores + g];
                if (score > ownScore)
                {
                    ownScore = score;
                    ownGroup = g;
                }
            }
            float bestScore = KsWarp.Max(ownScore);
            float negatedGroup = KsWarp.Max(OfferedIndex(ownScore, bestScore, ownGroup));
            if (bestScore != float.NegativeInfinity)
            {
                int kept = (int)-negatedGroup;
                if (lane == 0)
                    scratch[groupScores + kept] = float.NegativeInfinity;
                for (int e = kept * perGroup + lane; e < (kept + 1) * perGroup; e += 32)
                    scratch[candidates + e] = ZeroFillRouterMath.Sigmoid(logits[row + e]) + bias[e];
            }
            KsGroup.Barrier();
        }

        // the k largest candidates (ties → lower index; expert 0 when none is left); a picked one becomes −∞
        float sum = 0f;
        for (int k = 0; k < topk; k++)
        {
            float ownValue = float.NegativeInfinity;
            int ownExpert = 0;
            for (int e = lane; e < experts; e += 32)
            {
                float value = scratch[candidates + e];
                if (value > ownValue)
                {
                    ownValue = value;
                    ownExpert = e;
                }
            }
            float bestValue = KsWarp.Max(ownValue);
            float negatedExpert = KsWarp.Max(OfferedIndex(ownValue, bestValue, ownExpert));
            int chosen = bestValue == float.NegativeInfinity ? 0 : (int)-negatedExpert;
            float weight = ZeroFillRouterMath.Sigmoid(logits[row + chosen]);
            if (lane == 0)
            {
                scratch[candidates + chosen] = float.NegativeInfinity;
                expertIds[(long)token * topk + k] = chosen;
                expertWeights[(long)token * topk + k] = weight;
            }
            sum += weight;
            KsGroup.Barrier();
        }

        float factor = normalize != 0 ? scalingFactor / (sum + 1e-20f) : scalingFactor;
        for (int k = lane; k < topk; k += 32)
            expertWeights[(long)token * topk + k] = expertWeights[(long)token * topk + k] * factor;
    }

    /// <summary>
    /// What a lane offers to the warp's search for the lowest index holding the best value: minus the first index of
    /// its own best when that is the warp's best, else −∞; the warp's maximum is then minus the lowest such index
    /// (indices are exact in fp32 below 2^24, and the warp reduction at hand is a float maximum).
    /// </summary>
    private static float OfferedIndex(float ownValue, float bestValue, int ownIndex) =>
        ownValue == bestValue && ownValue != float.NegativeInfinity ? -(float)ownIndex : float.NegativeInfinity;
}
