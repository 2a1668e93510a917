using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using KernelSharp.Kernels.Tests.Invariants;
using Xunit;

namespace KernelSharp.Kernels.Tests.Moe;

/// <summary>
/// The MoE kernels one by one (router, permutation, grouped expert FFN in bf16 and fp8, combine) against their
/// references, and chained as a layer runs them against the float64 layer reference.
/// </summary>
public abstract class MoeTests(BackendFixture backend) : SparseKernelTestBase(backend)
{
    [SkippableTheory]
    [InlineData(7, 16, 4, 2, 4, true)]      // the tiny fixture's routing
    [InlineData(3, 256, 8, 4, 8, true)]     // DeepSeek-V3.2's routing
    [InlineData(33, 12, 1, 1, 3, false)]    // one group, no normalization, more tokens than a group of threads
    public void Router_matches_reference(int tokenCount, int experts, int groups, int topkGroups, int topk, bool normalize)
    {
        RequireBackend();
        var random = NewRandom(tokenCount * 7 + experts);
        float[] logits = RandomTensors.Normal(random, (long)tokenCount * experts, 2f);
        float[] bias = RandomTensors.Uniform(random, experts, 0.3f);
        // Exact ties in the biased scores: the smaller expert index must win, in kernel and reference alike.
        logits[1] = logits[0];
        bias[1] = bias[0];
        using var l = Upload(logits);
        using var b = Upload(bias);
        using var ids = Allocate<int>((long)tokenCount * topk);
        using var weights = Allocate<float>((long)tokenCount * topk);
        MoeRouter(V(l), V(b), V(ids), V(weights), tokenCount, experts, groups, topkGroups, topk, 2.5f, normalize);
        var (expectedIds, expectedWeights) = RouterReference.Route(logits, bias, tokenCount, experts, groups, topkGroups, topk, 2.5f, normalize);
        AssertIdentical(expectedIds, Download(ids), "expert ids");
        Tolerance.AssertClose(expectedWeights, Download(weights), Tolerance.Fp32, "routing weights");
    }

    [SkippableTheory]
    [InlineData(1, 1, 8)]       // a single pair
    [InlineData(50, 4, 16)]     // most experts used several times
    [InlineData(300, 8, 256)]   // 256 experts, one per thread; many get no pair
    [InlineData(683, 6, 64)]    // 4 098 pairs: four whole tiles of the placing pass and 2 pairs in a fifth
    [InlineData(40, 3, 1)]      // one expert: every pair, in order
    public void Permutation_matches_reference(int tokenCount, int topk, int experts)
    {
        CheckPermutation(tokenCount, topk, experts, 0, experts, serial: false);
        CheckPermutation(tokenCount, topk, experts, 0, experts, serial: true);
    }

    [SkippableTheory]
    [InlineData(50, 4, 16, 0, 6)]     // the first of three ranks' ranges
    [InlineData(50, 4, 16, 11, 5)]    // the last range
    [InlineData(1, 1, 8, 4, 2)]       // a single pair, probably held elsewhere
    [InlineData(700, 6, 64, 20, 16)]  // several tiles, most pairs held elsewhere
    public void Permutation_of_a_rank_range_leaves_other_experts_pairs_without_a_slot(int tokenCount, int topk, int experts, int firstExpert, int held)
    {
        CheckPermutation(tokenCount, topk, experts, firstExpert, held, serial: false);
        CheckPermutation(tokenCount, topk, experts, firstExpert, held, serial: true);
    }

    /// <summary>PermuteByExpert (GPUs) or PermuteByExpertSerial (the host backends' form) against the reference.</summary>
    private void CheckPermutation(int tokenCount, int topk, int routedExperts, int firstExpert, int experts, bool serial)
    {
        RequireBackend();
        // ILGPU's CPU accelerator synchronizes OS threads at every barrier: the scanned form's many groups and barriers
        // take it tens of seconds on the large cases, which FastCpu and CUDA cover.
        if (!serial && Backend.Backend == TestBackend.IlgpuCpu && (tokenCount * topk > 64 || experts > 8))
            return;
        var random = NewRandom(tokenCount + topk + routedExperts);
        int[] ids = RandomTensors.Indices(random, tokenCount * topk, routedExperts);
        int pairs = ids.Length;
        using var idBuffer = Upload(ids);
        using var counts = Allocate<int>(experts);
        using var offsets = Allocate<int>(experts + 1);
        using var permuted = Allocate<int>(pairs);
        using var slots = Allocate<int>(pairs);
        using var slotExperts = Allocate<int>(pairs);
        PermuteByExpert(V(idBuffer), V(counts), V(offsets), V(permuted), V(slots), V(slotExperts), pairs, experts, firstExpert, serial);
        var expected = TokenPermutationReference.Permute(ids, experts, firstExpert);
        string form = serial ? "PermuteByExpertSerial" : "PermuteByExpert";
        AssertIdentical(expected.Counts, Download(counts), $"{form}: expert counts");
        AssertIdentical(expected.Offsets, Download(offsets), $"{form}: expert offsets");
        AssertIdentical(expected.PermutedPairs, Download(permuted), $"{form}: permuted pairs");
        AssertIdentical(expected.PairSlots, Download(slots), $"{form}: pair slots");
        AssertIdentical(expected.SlotExperts, Download(slotExperts), $"{form}: slot experts");
    }

    [SkippableTheory]
    // groupSize 1: a thread per weight row (the CPU shape); 128: a warp per row (the GPU shape). The warp cases stay
    // small because ILGPU's CPU accelerator emulates every shuffle with OS-thread barriers.
    [InlineData(false, 5, 3, 64, 40, 1)]       // bf16, tiny-model-like widths
    [InlineData(true, 5, 3, 64, 40, 1)]        // fp8, one partial 128-block per matrix
    [InlineData(true, 2, 2, 200, 130, 1)]      // fp8, two blocks each way with partial edges
    [InlineData(false, 1, 1, 33, 65, 128)]     // one token, one expert, odd widths
    [InlineData(true, 1, 1, 130, 20, 128)]     // fp8 with a partial second block along the hidden dim
    public void Moe_layer_from_the_kernels_matches_reference(bool fp8, int tokenCount, int topk, int hidden, int intermediate, int groupSize)
    {
        RequireBackend();
        var random = NewRandom(tokenCount * 13 + hidden + (fp8 ? 1 : 0));
        int experts = 6;
        int groups = 2;
        float[] x = RandomTensors.Normal(random, (long)tokenCount * hidden);
        float[] logits = RandomTensors.Normal(random, (long)tokenCount * experts);
        float[] bias = RandomTensors.Uniform(random, experts, 0.1f);
        var routedGate = ExpertWeights.Create(random, fp8, experts, intermediate, hidden);
        var routedUp = ExpertWeights.Create(random, fp8, experts, intermediate, hidden);
        var routedDown = ExpertWeights.Create(random, fp8, experts, hidden, intermediate);
        var sharedGate = ExpertWeights.Create(random, fp8, 1, intermediate, hidden);
        var sharedUp = ExpertWeights.Create(random, fp8, 1, intermediate, hidden);
        var sharedDown = ExpertWeights.Create(random, fp8, 1, hidden, intermediate);
        int pairs = tokenCount * topk;

        using var xBuffer = Upload(x);
        using var logitBuffer = Upload(logits);
        using var biasBuffer = Upload(bias);
        using var ids = Allocate<int>(pairs);
        using var weights = Allocate<float>(pairs);
        MoeRouter(V(logitBuffer), V(biasBuffer), V(ids), V(weights), tokenCount, experts, groups, 1, topk, 2.5f, true);

        using var counts = Allocate<int>(experts);
        using var offsets = Allocate<int>(experts + 1);
        using var permuted = Allocate<int>(pairs);
        using var slots = Allocate<int>(pairs);
        using var slotExperts = Allocate<int>(pairs);
        PermuteByExpert(V(ids), V(counts), V(offsets), V(permuted), V(slots), V(slotExperts), pairs, experts);

        using var activations = Allocate<float>((long)pairs * intermediate);
        using var expertOutputs = Allocate<float>((long)pairs * hidden);
        RunExperts(xBuffer, permuted, slotExperts, routedGate, routedUp, routedDown, activations, expertOutputs, pairs, hidden, intermediate, topk, groupSize);

        // The shared expert: the same kernels with one expert and the identity permutation.
        using var identity = Upload(Enumerable.Range(0, tokenCount).ToArray());
        using var zeros = Allocate<int>(tokenCount);
        using var sharedActivations = Allocate<float>((long)tokenCount * intermediate);
        using var sharedOutput = Allocate<float>((long)tokenCount * hidden);
        RunExperts(xBuffer, identity, zeros, sharedGate, sharedUp, sharedDown, sharedActivations, sharedOutput, tokenCount, hidden, intermediate, 1, groupSize);

        using var y = Allocate<float>((long)tokenCount * hidden);
        CombineExperts(V(expertOutputs), V(slots), V(weights), V(sharedOutput), V(y), tokenCount, hidden, topk);

        int[] chosen = Download(ids);
        float[] routingWeights = Download(weights);
        double[] pairOutputs = MoeLayerReference.PairOutputs(x, chosen, topk, routedGate.Values, routedUp.Values, routedDown.Values, hidden, intermediate);
        double[] sharedExpected = MoeLayerReference.PairOutputs(x, new int[tokenCount], 1, sharedGate.Values, sharedUp.Values, sharedDown.Values, hidden, intermediate);
        float[] sharedActual = Download(sharedOutput);
        Tolerance.AssertClose(sharedExpected, sharedActual, Tolerance.Fp32, "shared expert output");
        double[] expected = MoeLayerReference.Combine(pairOutputs, routingWeights, sharedActual, tokenCount, hidden, topk);
        Tolerance.AssertClose(expected, Download(y), Tolerance.Fp32, fp8 ? "MoE output (fp8 experts)" : "MoE output (bf16 experts)");
    }

    /// <summary>
    /// The rows form (a group of up to 4 slots of one expert per weight load): the same bits for every slot with 1 and
    /// with 4 items per warp, for experts holding 0, 1, 4, 5 and 9 slots, and for bf16 rows of whole 16-byte chunks the
    /// bits of the slot-per-group kernels (fp8 rows add their 128-blocks in another grouping there: last-bit differences).
    /// </summary>
    [SkippableTheory]
    [InlineData(false, 64, 40)]   // bf16, 16-byte rows: the lanes walk StridedRowDot's chunks
    [InlineData(true, 64, 40)]    // fp8 with a partial 128-block
    [InlineData(false, 36, 20)]   // bf16 rows that are not whole 16-byte chunks: the scalar walk
    public void Rows_form_gives_each_slot_the_bits_of_its_own_launch(bool fp8, int hidden, int intermediate)
    {
        RequireBackend();
        Skip.If(Backend.Backend == TestBackend.IlgpuCpu && (fp8 || hidden != 64),
            "ILGPU's CPU accelerator emulates each shuffle with OS-thread barriers: it runs the first case only (FastCpu and CUDA run all)");
        var random = NewRandom(hidden + intermediate + (fp8 ? 7 : 0));
        int[] slotsPerExpert = [5, 0, 1, 9, 4];
        int experts = slotsPerExpert.Length;
        int topk = 2;
        int slotCount = slotsPerExpert.Sum();
        int tokenCount = (slotCount + topk - 1) / topk;
        float[] x = RandomTensors.Normal(random, (long)tokenCount * hidden);
        var gate = ExpertWeights.Create(random, fp8, experts, intermediate, hidden);
        var up = ExpertWeights.Create(random, fp8, experts, intermediate, hidden);
        var down = ExpertWeights.Create(random, fp8, experts, hidden, intermediate);
        // Slots in expert order, each pointing at some pair (token·K + k) of the batch.
        int[] slotExperts = slotsPerExpert.SelectMany((n, e) => Enumerable.Repeat(e, n)).ToArray();
        int[] permuted = Enumerable.Range(0, slotCount).Select(_ => random.Next(tokenCount * topk)).ToArray();
        int[] offsets = new int[experts + 1];
        for (int e = 0; e < experts; e++)
        {
            offsets[e + 1] = offsets[e] + slotsPerExpert[e];
        }

        using var xBuffer = Upload(x);
        using var permutedBuffer = Upload(permuted);
        using var expertBuffer = Upload(slotExperts);
        using var offsetBuffer = Upload(offsets);
        using var g = fp8 ? Upload(gate.Fp8!) : null;
        using var u = fp8 ? Upload(up.Fp8!) : null;
        using var d = fp8 ? Upload(down.Fp8!) : null;
        using var gs = fp8 ? Upload(gate.Scales!) : null;
        using var us = fp8 ? Upload(up.Scales!) : null;
        using var ds = fp8 ? Upload(down.Scales!) : null;
        using var gb = fp8 ? null : Upload(gate.Bf16!);
        using var ub = fp8 ? null : Upload(up.Bf16!);
        using var db = fp8 ? null : Upload(down.Bf16!);
        using var activations = Allocate<float>((long)slotCount * intermediate);
        using var outputs = Allocate<float>((long)slotCount * hidden);
        float[] RunOld()
        {
            if (fp8)
            {
                GroupedFfnGateUp(V(xBuffer), V(permutedBuffer), V(expertBuffer), new Fp8BlockRows(V(g!), V(gs!)), new Fp8BlockRows(V(u!), V(us!)), V(activations), slotCount, hidden, intermediate, topk, 128);
                GroupedFfnDown(V(activations), V(expertBuffer), new Fp8BlockRows(V(d!), V(ds!)), V(outputs), slotCount, hidden, intermediate, 128);
            }
            else
            {
                GroupedFfnGateUp(V(xBuffer), V(permutedBuffer), V(expertBuffer), new Bf16Rows(V(gb!)), new Bf16Rows(V(ub!)), V(activations), slotCount, hidden, intermediate, topk, 128);
                GroupedFfnDown(V(activations), V(expertBuffer), new Bf16Rows(V(db!)), V(outputs), slotCount, hidden, intermediate, 128);
            }
            return Download(outputs);
        }

        float[] RunRows(int items)
        {
            int groupCount = (slotCount + items - 1) / items + experts;
            using var first = Allocate<int>(groupCount);
            using var end = Allocate<int>(groupCount);
            ExpertItemGroups(V(offsetBuffer), V(first), V(end), experts, groupCount, items);
            int[] firsts = Download(first);
            Assert.Equal(slotsPerExpert.Sum(n => (n + items - 1) / items), firsts.Count(f => f >= 0));
            if (fp8)
            {
                GroupedFfnGateUpRows(V(xBuffer), V(permutedBuffer), V(expertBuffer), V(first), V(end), new Fp8BlockRows(V(g!), V(gs!)), new Fp8BlockRows(V(u!), V(us!)), V(activations), groupCount, hidden, intermediate, topk, items);
                GroupedFfnDownRows(V(activations), V(expertBuffer), V(first), V(end), new Fp8BlockRows(V(d!), V(ds!)), V(outputs), groupCount, hidden, intermediate, items);
            }
            else
            {
                GroupedFfnGateUpRows(V(xBuffer), V(permutedBuffer), V(expertBuffer), V(first), V(end), new Bf16Rows(V(gb!)), new Bf16Rows(V(ub!)), V(activations), groupCount, hidden, intermediate, topk, items);
                GroupedFfnDownRows(V(activations), V(expertBuffer), V(first), V(end), new Bf16Rows(V(db!)), V(outputs), groupCount, hidden, intermediate, items);
            }
            return Download(outputs);
        }

        // ILGPU's CPU accelerator runs the 4-item launch alone (its emulated shuffles cost tens of seconds per launch).
        bool everyLaunch = Backend.Backend != TestBackend.IlgpuCpu;
        float[]? old = everyLaunch && !fp8 && hidden % 8 == 0 && intermediate % 8 == 0 ? RunOld() : null;
        float[] four = RunRows(4);
        if (everyLaunch)
        {
            AssertIdentical(RunRows(1), four, "rows form: 1 vs 4 items per warp");
        }
        var expected = new double[(long)slotCount * hidden];
        for (int s = 0; s < slotCount; s++)
        {
            // slot s computes expert slotExperts[s] on token permuted[s] / topk
            double[] single = MoeLayerReference.PairOutputs(x.AsSpan((permuted[s] / topk) * hidden, hidden).ToArray(), [slotExperts[s]], 1,
                gate.Values, up.Values, down.Values, hidden, intermediate);
            single.CopyTo(expected, (long)s * hidden);
        }
        Tolerance.AssertClose(expected, four, Tolerance.Fp32, "rows form vs reference");
        if (old is not null)
        {
            AssertIdentical(old, four, "rows form vs slot-per-group kernels");
        }
    }

    private void RunExperts(
        ILGPU.Runtime.MemoryBuffer1D<float, ILGPU.Stride1D.Dense> x, ILGPU.Runtime.MemoryBuffer1D<int, ILGPU.Stride1D.Dense> permuted,
        ILGPU.Runtime.MemoryBuffer1D<int, ILGPU.Stride1D.Dense> slotExperts, ExpertWeights gate, ExpertWeights up, ExpertWeights down,
        ILGPU.Runtime.MemoryBuffer1D<float, ILGPU.Stride1D.Dense> activations, ILGPU.Runtime.MemoryBuffer1D<float, ILGPU.Stride1D.Dense> outputs,
        int slotCount, int hidden, int intermediate, int topk, int groupSize)
    {
        if (gate.Fp8 is null)
        {
            using var g = Upload(gate.Bf16!);
            using var u = Upload(up.Bf16!);
            using var d = Upload(down.Bf16!);
            GroupedFfnGateUp(V(x), V(permuted), V(slotExperts), new Bf16Rows(V(g)), new Bf16Rows(V(u)), V(activations), slotCount, hidden, intermediate, topk, groupSize);
            GroupedFfnDown(V(activations), V(slotExperts), new Bf16Rows(V(d)), V(outputs), slotCount, hidden, intermediate, groupSize);
        }
        else
        {
            using var g = Upload(gate.Fp8);
            using var gs = Upload(gate.Scales!);
            using var u = Upload(up.Fp8!);
            using var us = Upload(up.Scales!);
            using var d = Upload(down.Fp8!);
            using var ds = Upload(down.Scales!);
            GroupedFfnGateUp(V(x), V(permuted), V(slotExperts), new Fp8BlockRows(V(g), V(gs)), new Fp8BlockRows(V(u), V(us)), V(activations), slotCount, hidden, intermediate, topk, groupSize);
            GroupedFfnDown(V(activations), V(slotExperts), new Fp8BlockRows(V(d), V(ds)), V(outputs), slotCount, hidden, intermediate, groupSize);
        }
    }

    /// <summary>
    /// Stacked expert weights [E, rows, cols] in bf16 or in e4m3 with per-expert 128×128 block scales
    /// ([E, ceil(rows/128), ceil(cols/128)]), and the float values they decode to.
    /// </summary>
    private sealed record ExpertWeights(ushort[]? Bf16, byte[]? Fp8, float[]? Scales, float[] Values)
    {
        public static ExpertWeights Create(Random random, bool fp8, int experts, int rows, int cols)
        {
            float scale = 1f / MathF.Sqrt(cols);
            if (!fp8)
            {
                var (bits, values) = RandomTensors.Bf16(random, (long)experts * rows * cols, scale);
                return new ExpertWeights(bits, null, null, values);
            }
            var bytes = new List<byte>();
            var scales = new List<float>();
            var all = new List<float>();
            for (int e = 0; e < experts; e++)
            {
                var (b, s, v) = RandomTensors.Fp8BlockScaled(random, rows, cols, scale);
                bytes.AddRange(b);
                scales.AddRange(s);
                all.AddRange(v);
            }
            return new ExpertWeights(null, bytes.ToArray(), scales.ToArray(), all.ToArray());
        }
    }
}

public sealed class MoeTests_FastCpu(FastCpuBackend b) : MoeTests(b), IClassFixture<FastCpuBackend>;
public sealed class MoeTests_IlgpuCpu(IlgpuCpuBackend b) : MoeTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class MoeTests_Cuda(CudaBackend b) : MoeTests(b), IClassFixture<CudaBackend>;
public sealed class MoeTests_OpenCL(OpenCLBackend b) : MoeTests(b), IClassFixture<OpenCLBackend>;

/// <summary>The router's configuration checks (no device needed).</summary>
public sealed class RouterValidationTests
{
    [Fact]
    public void Router_configuration_errors_are_one_line()
    {
        var error = Assert.Throws<ArgumentException>(() => RouterMath.Validate(experts: 16, groups: 3, topkGroups: 2, topk: 4));
        Assert.Contains("n_group", error.Message);
        Assert.Throws<ArgumentException>(() => RouterMath.Validate(16, 4, 1, 5));
    }
}
