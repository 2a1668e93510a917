using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.Paging;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Runtime.Tests.Model;
using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// The kernels written for the model backend, each through its generated launcher against its CPU reference on fresh
/// random inputs, on the generated fast CPU path and on the ILGPU CPU accelerator.
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class BackendKernelTests(KernelBackendFixture fixture)
{
    public static TheoryData<KernelBackend> Kinds => new() { KernelBackend.FastCpu, KernelBackend.IlgpuCpu };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void CopyBlock_matches_reference(KernelBackend kind)
    {
        var random = new RandomData();
        var device = fixture.Get(kind).Device;
        var source = random.Floats(9 * 13);      // [9, 13]
        var destination = random.Floats(6 * 11); // [6, 11]
        var expected = destination.ToArray();
        TensorCopyReference.CopyBlock(source, expected, 4, 7, 13, 2 * 13 + 5, 11, 11 + 3);

        using var sourceBuffer = Upload(device, source);
        using var destinationBuffer = Upload(device, destination);
        TensorKernels.LaunchCopyBlock(device, sourceBuffer.View, destinationBuffer.View, 4, 7, 13, 2 * 13 + 5, 11, 11 + 3);

        Assert.Equal(expected, Download(device, destinationBuffer));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Elementwise_kernels_match_reference(KernelBackend kind)
    {
        var random = new RandomData();
        var device = fixture.Get(kind).Device;
        var x = random.Floats(300);
        var addend = random.Floats(300);
        var expected = x.ToArray();
        TensorElementwiseReference.AddInPlace(expected, addend);
        TensorElementwiseReference.ScaleInPlace(expected, 1.75f);

        using var xBuffer = Upload(device, x);
        using var addendBuffer = Upload(device, addend);
        using var range = device.Allocate<int>(300);
        TensorKernels.LaunchAddInPlace(device, xBuffer.View, addendBuffer.View, 300);
        TensorKernels.LaunchScaleInPlace(device, xBuffer.View, 1.75f, 300);
        TensorKernels.LaunchFillRange(device, range.View, 17, 300);

        Assert.Equal(expected, Download(device, xBuffer));
        Assert.Equal(TensorElementwiseReference.FillRange(17, 300), Download(device, range));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void RouteZeroFill_matches_reference(KernelBackend kind)
    {
        var random = new RandomData();
        var device = fixture.Get(kind).Device;
        // (tokens, experts, groups, kept groups, top-k, logits on a coarse grid so that scores tie)
        (int Tokens, int Experts, int Groups, int Kept, int TopK, bool Ties)[] shapes =
        [
            (40, 24, 6, 3, 5, false),   // fewer experts than a warp has lanes
            (9, 256, 8, 4, 8, false),   // DeepSeek-V3.2's router: 32 experts per group, several per lane
            (7, 70, 7, 3, 6, true),     // 10 experts per group, uneven across lanes, equal scores everywhere
            (3, 64, 64, 40, 50, true),  // one expert per group, more groups than lanes, most experts picked
        ];
        foreach (var (tokens, experts, groups, kept, topk, ties) in shapes)
        {
            var logits = random.Floats(tokens * experts, 4f);
            if (ties)
                logits = logits.Select(x => MathF.Round(x * 2f) / 2f).ToArray();
            // Biases around −1 make many biased scores negative, so dropped experts (scored 0) are often picked.
            var bias = random.Floats(experts).Select(b => ties ? MathF.Round(b) - 1f : b - 1f).ToArray();
            foreach (var normalize in new[] { true, false })
            {
                var (expectedIds, expectedWeights) = ZeroFillRouterReference.Route(logits, bias, tokens, experts, groups, kept, topk, 2.5f, normalize);
                using var logitsBuffer = Upload(device, logits);
                using var biasBuffer = Upload(device, bias);
                using var scratch = device.Allocate<float>(tokens * (experts + groups));
                using var ids = device.Allocate<int>(tokens * topk);
                using var weights = device.Allocate<float>(tokens * topk);
                ZeroFillRouterKernels.LaunchRouteZeroFill(device, logitsBuffer.View, biasBuffer.View, scratch.View, ids.View, weights.View,
                    tokens, experts, groups, kept, topk, 2.5f, normalize ? 1 : 0);

                string shape = $"{random}: {experts} experts in {groups} groups, top-{topk}, ties {ties}, normalize {normalize}";
                Assert.True(expectedIds.SequenceEqual(Download(device, ids)), $"{shape}: expert ids differ");
                Assertions.Close(expectedWeights, Download(device, weights), 1e-6, $"{shape}: routing weights");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void GatherSlotRows_matches_reference(KernelBackend kind)
    {
        var random = new RandomData();
        var device = fixture.Get(kind).Device;
        const int tokens = 7, hidden = 150, topk = 3;
        var x = random.Floats(tokens * hidden);
        var pairs = Enumerable.Range(0, tokens * topk).OrderBy(_ => random.Next(1000)).ToArray(); // a permutation of the pairs
        var expected = ExpertRowGatherReference.Gather(x, pairs, 4, 9, hidden, topk);

        using var xBuffer = Upload(device, x);
        using var pairBuffer = Upload(device, pairs);
        using var gathered = device.Allocate<float>(9 * hidden);
        ExpertGatherKernels.LaunchGatherSlotRows(device, xBuffer.View, pairBuffer.View, gathered.View, 4, 9, hidden, topk);

        Assert.Equal(expected, Download(device, gathered));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void CombineExperts_adds_nothing_for_pairs_without_a_slot(KernelBackend kind)
    {
        var random = new RandomData();
        var device = fixture.Get(kind).Device;
        const int tokens = 6, hidden = 150, topk = 3, slots = 11;
        // A rank's share: a pair whose expert another rank holds has slot −1; here one pair of every token but the first.
        var pairSlots = Enumerable.Range(0, tokens * topk).Select(p => (p / topk) > 0 && (p / topk + p % topk) % 2 == 0 && p % topk > 0 ? -1 : random.Next(slots)).ToArray();
        var expertOutputs = random.Floats(slots * hidden); // [slots, H]
        var weights = random.Floats(tokens * topk);        // [N·K]
        var shared = random.Floats(tokens * hidden);       // [N, H]
        var pairOutputs = new double[tokens * topk * hidden]; // a pair without a slot contributes a zero row
        for (var p = 0; p < pairSlots.Length; p++)
        {
            for (var h = 0; pairSlots[p] >= 0 && h < hidden; h++)
            {
                pairOutputs[(p * hidden) + h] = expertOutputs[(pairSlots[p] * hidden) + h];
            }
        }

        var expected = MoeLayerReference.Combine(pairOutputs, weights, shared, tokens, hidden, topk);

        using var outputsBuffer = Upload(device, expertOutputs);
        using var slotBuffer = Upload(device, pairSlots);
        using var weightBuffer = Upload(device, weights);
        using var sharedBuffer = Upload(device, shared);
        using var y = device.Allocate<float>(tokens * hidden);
        MoeKernels.LaunchCombineExperts(device, outputsBuffer.View, slotBuffer.View, weightBuffer.View, sharedBuffer.View, y.View, tokens, hidden, topk);

        Assertions.Close(expected.Select(v => (float)v).ToArray(), Download(device, y), 1e-6, $"{random}: CombineExperts");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void CompactSelection_matches_reference(KernelBackend kind)
    {
        // k below the group's 128 threads (most threads own no slot) and k spread unevenly over them.
        CompactSelectionCase(kind, queries: 70, k: 9);
        CompactSelectionCase(kind, queries: 5, k: 300);
    }

    private void CompactSelectionCase(KernelBackend kind, int queries, int k)
    {
        var random = new RandomData();
        var device = fixture.Get(kind).Device;
        var selected = Enumerable.Range(0, queries * k).Select(_ => random.Next(k + 61) - 1).ToArray(); // −1 slots and keys past a query's position
        var positions = Enumerable.Range(0, queries).Select(_ => random.Next(k + 50)).ToArray();
        var expected = SelectionCompactionReference.Compact(selected, KeyPagesReference.Contiguous(positions), k);

        using var selectedBuffer = Upload(device, selected);
        using var positionBuffer = Upload(device, positions);
        using var compacted = device.Allocate<int>(queries * k);
        using var counts = device.Allocate<int>(queries);
        SelectionKernels.LaunchCompactSelection(device, selectedBuffer.View, KeyPages.Contiguous(positionBuffer.View), compacted.View, counts.View, queries, k);

        var actualKeys = Download(device, compacted);
        var actualCounts = Download(device, counts);
        for (var q = 0; q < queries; q++)
        {
            Assert.Equal(expected[q].Length, actualCounts[q]);
            Assert.Equal(expected[q], actualKeys.AsSpan(q * k, actualCounts[q]).ToArray());
        }
    }

    private static MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(KernelDevice device, T[] values)
        where T : unmanaged
    {
        var buffer = device.Allocate<T>(values.Length);
        buffer.View.CopyFromCPU(values);
        return buffer;
    }

    private static T[] Download<T>(KernelDevice device, MemoryBuffer1D<T, Stride1D.Dense> buffer)
        where T : unmanaged
    {
        device.Synchronize();
        var host = new T[buffer.Length];
        buffer.View.CopyToCPU(host);
        return host;
    }
}
