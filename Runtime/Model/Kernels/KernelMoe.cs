using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// Mixture of experts on the kernel library: noaux_tc routing (transformers' zero-fill variant), a stable permutation
/// of the (token, k) pairs by expert, the experts' SwiGLU, and a deterministic weighted combine per token.
/// Decode-sized batches over stacked experts (<see cref="KernelExpertStack"/>) run the grouped expert kernels: a fixed
/// five launches and no host round trip. Larger batches (prompts) of stacked bf16 / FP8 experts, when the prefill runs on
/// tensor cores, run one grouped tensor-core GEMM per projection over all slots (<see cref="GroupedTensorCoreExpertLaunch"/>),
/// also without a host round trip. Otherwise each used expert runs as GEMMs on its gathered rows, which needs the
/// per-expert slot offsets on the host (one synchronization per layer).
/// </summary>
internal sealed class KernelMoe(KernelStorage storage, KernelModelBackend backend)
{
    /// <summary>
    /// Slots (token, k pairs) up to which stacked experts run as grouped GEMVs instead of per-expert GEMMs: a decode step of
    /// up to 64 sequences at 8 experts each. Each slot gets the sums of its own GEMV (the same bits whatever the batch); slots of
    /// one expert are adjacent, and on GPUs up to 4 of them share each weight load (GroupedExpertLaunch); the per-expert path needs a host
    /// round trip per layer and a launch sequence per expert (measured on the H100: ~500 launches per 16-sequence step).
    /// </summary>
    internal const int GroupedMaxSlots = 512;

    /// <summary>routerLogits [T, E], correctionBias [1, E] → experts [T, k] (best first) and weights [T, k].</summary>
    public ExpertRouting Route(KernelTensor routerLogits, KernelTensor correctionBias, RouterSettings settings)
    {
        var experts = routerLogits.Columns;
        BackendArguments.RequireColumns(correctionBias, experts, "e_score_correction_bias");
        if (settings.Groups <= 0 || experts % settings.Groups != 0 || settings.KeptGroups <= 0 || settings.KeptGroups > settings.Groups
            || settings.ExpertsPerToken <= 0 || settings.ExpertsPerToken > experts)
        {
            throw new ArgumentException($"router settings {settings} do not fit {experts} experts");
        }

        var rows = routerLogits.Rows;
        var ids = storage.NewIndexTensor(rows, settings.ExpertsPerToken);  // [T, k]
        var weights = storage.NewTensor(rows, settings.ExpertsPerToken);   // [T, k]
        if (rows > 0)
        {
            using var scratch = storage.Buffer<float>((long)rows * (experts + settings.Groups)); // [T, E + G]
            ZeroFillRouterKernels.LaunchRouteZeroFill(storage.Device, routerLogits.View, correctionBias.View, scratch.View, ids.View, weights.View,
                rows, experts, settings.Groups, settings.KeptGroups, settings.ExpertsPerToken, settings.ScalingFactor, settings.NormalizeWeights ? 1 : 0);
        }

        return new ExpertRouting(ids, weights);
    }

    /// <summary>Σ_k weights[t, k] · Expert_{chosen[t, k]}(x[t]) (+ shared[t]) → [T, H].</summary>
    /// <param name="shared">[T, H] the shared experts' output, added by the combine kernel; null adds nothing.</param>
    /// <param name="firstExpert">Global id of experts[0]: a rank holding a range mixes only the pairs routed into it.</param>
    public KernelTensor Mix(KernelTensor x, KernelIndexTensor chosen, KernelTensor weights, IReadOnlyList<FeedForwardWeights> experts, KernelTensor? shared,
        int firstExpert = 0)
    {
        var rows = x.Rows;
        var hidden = x.Columns;
        var topk = chosen.Columns;
        if (chosen.Rows != rows || weights.Rows != rows || weights.Columns != topk)
        {
            throw new ArgumentException($"routing {chosen}/{weights} does not match the {rows} rows of {x}");
        }

        if (shared is not null && (shared.Rows != rows || shared.Columns != hidden))
        {
            throw new ArgumentException($"shared experts' output {shared} does not match {x}", nameof(shared));
        }

        var output = storage.NewTensor(rows, hidden); // [T, H]
        var pairs = rows * topk;
        if (pairs == 0)
        {
            if (shared is null)
            {
                backend.Fill(output, 0f);
            }
            else
            {
                backend.CopyBlock(shared, output, rows, hidden, 0, 0);
            }

            return output;
        }

        if (pairs >= MoeKernels.PermuteMaxPairs)
        {
            throw new ArgumentException($"{rows} tokens × {topk} experts each is {pairs} routed pairs; the expert permutation counts at most {MoeKernels.PermuteMaxPairs - 1}: run the prompt in smaller chunks");
        }

        var device = storage.Device;
        using var expertCounts = storage.Buffer<int>(experts.Count);       // [E]
        using var expertOffsets = storage.Buffer<int>(experts.Count + 1);  // [E + 1]
        using var permutedPairs = storage.Buffer<int>(pairs);              // [T·k] slot → pair
        using var pairSlots = storage.Buffer<int>(pairs);                  // [T·k] pair → slot
        using var slotExperts = storage.Buffer<int>(pairs);                // [T·k] slot → expert
        // GPUs take the group-per-expert sort; the host backends the one-group form, whose single barrier is cheap there.
        if (device.Backend is KernelBackend.FastCpu or KernelBackend.IlgpuCpu)
        {
            MoeKernels.LaunchPermuteByExpertSerial(device, chosen.View, expertCounts.View, expertOffsets.View, permutedPairs.View, pairSlots.View, slotExperts.View, pairs, experts.Count, firstExpert);
        }
        else
        {
            MoeKernels.LaunchPermuteByExpert(device, chosen.View, expertCounts.View, expertOffsets.View, permutedPairs.View, pairSlots.View, slotExperts.View, pairs, experts.Count, firstExpert);
        }
        using var noShared = shared is null ? storage.NewTensor(rows, hidden) : null; // [T, H] zeros when there are no shared experts
        if (noShared is not null)
        {
            backend.Fill(noShared, 0f);
        }

        var sharedView = (shared ?? noShared!).View; // [T, H] added to every token's mix by the combine kernel
        // Stacked experts (every GPU backend) run the grouped kernels, which index the stack by expert id.
        var stack = experts[0].Gate is KernelWeight { Stack: { } stacked } && stacked.Holds(experts) ? stacked : null;
        if (pairs <= GroupedMaxSlots && stack is not null)
        {
            using var activations = storage.NewTensor(pairs, stack.Intermediate); // [T·k, I] silu(gate·x)·(up·x) in slot order
            using var slotOutputs = storage.NewTensor(pairs, hidden);             // [T·k, H] in slot order
            RunGrouped(stack, x, permutedPairs.View, slotExperts.View, expertOffsets.View, activations, slotOutputs, topk);
            MoeKernels.LaunchCombineExperts(device, slotOutputs.View, pairSlots.View, weights.View, sharedView, output.View, rows, hidden, topk);
            return output;
        }

        if (stack is not null && backend.PromptOnTensorCores)
        {
            // A prompt's slots on the tensor cores: one grouped GEMM launch per projection, the tile table on the device.
            using var slotOutputs = storage.NewTensor(pairs, hidden); // [T·k, H] in slot order
            var launch = new GroupedTensorCoreExpertLaunch(storage, stack, x, permutedPairs.View, slotExperts.View, expertOffsets.View, slotOutputs, topk);
            stack.Gate.ApplyTensorCore(ref launch);
            MoeKernels.LaunchCombineExperts(device, slotOutputs.View, pairSlots.View, weights.View, sharedView, output.View, rows, hidden, topk);
            return output;
        }

        // The host walks the experts that received tokens: each runs as ordinary GEMMs on its gathered rows, so
        // experts keep their own fp32 weight tensors (no stacked copy of every expert).
        var offsets = storage.Download<int>(expertOffsets.View, experts.Count + 1);
        using var expertOutputs = storage.NewTensor(pairs, hidden); // [T·k, H] in slot order
        for (var e = 0; e < experts.Count; e++)
        {
            var count = offsets[e + 1] - offsets[e];
            if (count == 0)
            {
                continue;
            }

            // One token (a decode step of one sequence): every used expert's one row is x itself, nothing to gather.
            using var gathered = rows == 1 ? null : storage.NewTensor(count, hidden); // [n, H]
            using var result = storage.NewTensor(count, hidden);   // [n, H]
            if (gathered is not null)
            {
                ExpertGatherKernels.LaunchGatherSlotRows(device, x.View, permutedPairs.View, gathered.View, offsets[e], count, hidden, topk);
            }

            backend.FeedForwardInto(gathered ?? x, experts[e], result);
            backend.CopyBlock(result, expertOutputs, count, hidden, 0, (long)offsets[e] * hidden);
        }

        MoeKernels.LaunchCombineExperts(device, expertOutputs.View, pairSlots.View, weights.View, sharedView, output.View, rows, hidden, topk);
        return output;
    }

    /// <summary>slotOutputs [slots, H] = down_e(silu(gate_e·x) ⊙ up_e·x) for each slot's expert e and token, over the stacks.</summary>
    private void RunGrouped(KernelExpertStack stack, KernelTensor x, ILGPU.ArrayView<int> permutedPairs, ILGPU.ArrayView<int> slotExperts,
        ILGPU.ArrayView<int> expertOffsets, KernelTensor activations, KernelTensor slotOutputs, int topk)
    {
        if (backend.DecodeOnTensorCores)
        {
            var tensorCores = new TensorCoreExpertGemvLaunch(storage, stack, x, permutedPairs, slotExperts, expertOffsets, activations, slotOutputs, topk);
            stack.Gate.ApplyTensorCore(ref tensorCores);
            if (tensorCores.Launched)
            {
                return;
            }
        }

        var launch = new GroupedExpertLaunch(storage, stack, x, permutedPairs, slotExperts, expertOffsets, activations, slotOutputs, topk);
        stack.Gate.Apply(ref launch);
    }
}
