using System.Reflection;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.Paging;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using KernelSharp.Kernels.TopK;
using Xunit;

namespace KernelSharp.Kernels.Tests.Invariants;

/// <summary>
/// Base of the sparse-attention and MoE kernel tests (Indexer, TopK, Attention, Moe, Invariants): one typed launch
/// method per kernel, each computing the launch geometry its <c>[Kernel]</c> attribute declares, so tests read as
/// calls of the operation. FastCpu runs the generated CPU path; the other backends run the generated variant that
/// folds the call's [Constant] values (see <see cref="Launch"/>).
/// </summary>
public abstract class SparseKernelTestBase(BackendFixture backend) : BackendTestBase(backend)
{
    protected static ArrayView<T> V<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer)
        where T : unmanaged => buffer.View.AsContiguous();

    private static KernelConfig Config(long gridX, long gridY, int groupSize) =>
        new(new Index2D(checked((int)gridX), checked((int)gridY)), new Index2D(groupSize, 1));

    /// <summary>
    /// FastCpu runs the generated CPU path (<c>NameCpu</c>, same parameters as the kernel) on the host. Other backends
    /// launch the generated variant that folds the given [Constant] values (<c>Name__groupSize256</c>, what the
    /// launcher runs on a GPU) when there is one, else the kernel method itself (the generic variant).
    /// </summary>
    private void Launch(Type kernels, string name, KernelConfig config, params object[] arguments)
    {
        if (Backend.Backend == TestBackend.FastCpu)
        {
            var cpuPath = kernels.GetMethod(name + "Cpu", BindingFlags.Public | BindingFlags.Static);
            Skip.If(cpuPath is null, $"{kernels.Name}.{name} has no generated CPU path (built with KsNoGenerator=true?)");
            Accelerator.Synchronize();
            Backends.GenericKernels.Instantiate(cpuPath!, arguments).Invoke(null, BindingFlags.DoNotWrapExceptions, null, arguments, null);
            return;
        }
        var kernel = kernels.GetMethod(name, BindingFlags.Public | BindingFlags.Static)
            ?? throw new InvalidOperationException($"no kernel {kernels.Name}.{name}");
        var (variant, variantArguments) = FoldedVariant(kernels, kernel, arguments);
        LaunchGeneric(Backends.GenericKernels.Instantiate(variant, variantArguments), config, variantArguments);
    }

    /// <summary>The generated variant with this call's [Constant] values folded, and the arguments it still takes.</summary>
    private static (MethodInfo Method, object[] Arguments) FoldedVariant(Type kernels, MethodInfo kernel, object[] arguments)
    {
        var parameters = kernel.GetParameters();
        var constants = Enumerable.Range(0, parameters.Length)
            .Where(i => parameters[i].GetCustomAttribute<KernelSharp.Dsl.ConstantAttribute>() is not null)
            .ToArray();
        if (constants.Length == 0)
        {
            return (kernel, arguments);
        }
        string suffix = string.Join("_", constants.Select(i => $"{parameters[i].Name}{arguments[i]}"));
        var variant = kernels.GetMethod($"{kernel.Name}__{suffix}", BindingFlags.Public | BindingFlags.Static);
        if (variant is null)
        {
            return (kernel, arguments);
        }
        return (variant, arguments.Where((_, i) => !constants.Contains(i)).ToArray());
    }

    /// <summary>
    /// The MLA attention layout the Mla helpers launch: <see cref="MlaKernels.MlaAttention{TCache, TKeys}"/> (a thread
    /// per head-key pair, 8 heads per group) or, when a test class overrides this, the GPU layout
    /// <see cref="MlaKernels.MlaAttentionWarpHeads{TCache, TKeys}"/> (a warp per two heads, 16 heads per group).
    /// </summary>
    protected virtual bool MlaWarpHeads => false;

    private string MlaKernel => MlaWarpHeads ? nameof(MlaKernels.MlaAttentionWarpHeads) : nameof(MlaKernels.MlaAttention);

    private long MlaHeadBlocks(int heads) => MlaWarpHeads ? (heads + MlaKernels.WarpHeadsPerGroup - 1) / MlaKernels.WarpHeadsPerGroup : (heads + 7) / 8;

    private int MlaGroupSize => MlaWarpHeads ? 256 : 128;

    protected void TopKSelect(ArrayView<float> scores, ArrayView<int> indices, ArrayView<int> counts, int rows, int length, long rowStride, int k, int groupSize)
    {
        TopKShapes.Validate(length, k);
        Launch(typeof(TopKKernels), nameof(TopKKernels.TopKSelect), Config(rows, 1, groupSize),
            scores, indices, counts, rows, length, rowStride, k, groupSize);
    }

    protected void IndexerScores<TKeys>(ArrayView<float> queries, ArrayView<float> weights, TKeys keys, ArrayView<float> scores,
        int queryCount, int keyCount, int heads, int dim, float scale, KeyPages pages, int groupSize)
        where TKeys : struct, IRowFormat<TKeys> =>
        Launch(typeof(IndexerKernels), nameof(IndexerKernels.IndexerScores), Config(queryCount, (keyCount + groupSize - 1) / groupSize, groupSize),
            queries, weights, keys, scores, queryCount, keyCount, heads, dim, scale, pages, groupSize);

    protected void IndexerDecodeFp8(ArrayView<float> query, ArrayView<float> weights, ArrayView<byte> keyValues, ArrayView<float> keyScales,
        ArrayView<float> scores, int keyCount, int heads, int dim, float scale)
    {
        IndexerShapes.ValidateDecode(heads, dim);
        Launch(typeof(IndexerKernels), nameof(IndexerKernels.IndexerDecodeFp8), Config((keyCount + 31) / 32, 1, 128),
            query, weights, keyValues, keyScales, scores, keyCount, heads, dim, scale);
    }

    protected void QuantizeIndexKeysFp8(ArrayView<float> keys, ArrayView<byte> values, ArrayView<float> scales, ArrayView<int> rows, int tokenCount, int dim, int groupSize) =>
        Launch(typeof(IndexerKernels), nameof(IndexerKernels.QuantizeIndexKeysFp8), Config(tokenCount, 1, groupSize),
            keys, values, scales, rows, tokenCount, dim, groupSize);

    protected void StoreIndexKeysBf16(ArrayView<float> keys, ArrayView<ushort> cache, int tokenCount, int dim, int firstRow) =>
        Launch(typeof(IndexerKernels), nameof(IndexerKernels.StoreIndexKeysBf16), Config((tokenCount * dim + 255) / 256, 1, 256),
            keys, cache, tokenCount, dim, firstRow);

    protected void SparseMla(ArrayView<float> queries, ArrayView<float> kvCache, ArrayView<int> selected, ArrayView<int> counts, ArrayView<float> output,
        int queryCount, int heads, int latentDim, int ropeDim, int selectedStride, float scale)
    {
        MlaShapes.Validate(heads, latentDim, ropeDim);
        Launch(typeof(MlaKernels), MlaKernel, Config(queryCount, MlaHeadBlocks(heads), MlaGroupSize),
            queries, new F32Rows(kvCache), new SelectedKeys(selected, counts, selectedStride), output, ArrayView<float>.Empty,
            queryCount, heads, latentDim, ropeDim, scale);
    }

    protected void DenseMla(ArrayView<float> queries, ArrayView<float> kvCache, KeyPages pages, ArrayView<float> output,
        int queryCount, int heads, int latentDim, int ropeDim, float scale)
    {
        MlaShapes.Validate(heads, latentDim, ropeDim);
        Launch(typeof(MlaKernels), MlaKernel, Config(queryCount, MlaHeadBlocks(heads), MlaGroupSize),
            queries, new F32Rows(kvCache), new DenseKeys(pages), output, ArrayView<float>.Empty, queryCount, heads, latentDim, ropeDim, scale);
    }

    protected void SparseMlaBf16Cache(ArrayView<float> queries, ArrayView<ushort> kvCache, ArrayView<int> selected, ArrayView<int> counts, ArrayView<float> output,
        int queryCount, int heads, int latentDim, int ropeDim, int selectedStride, float scale)
    {
        MlaShapes.Validate(heads, latentDim, ropeDim);
        Launch(typeof(MlaKernels), MlaKernel, Config(queryCount, MlaHeadBlocks(heads), MlaGroupSize),
            queries, new Bf16Rows(kvCache), new SelectedKeys(selected, counts, selectedStride), output, ArrayView<float>.Empty,
            queryCount, heads, latentDim, ropeDim, scale);
    }

    protected void DenseMlaBf16Cache(ArrayView<float> queries, ArrayView<ushort> kvCache, KeyPages pages, ArrayView<float> output,
        int queryCount, int heads, int latentDim, int ropeDim, float scale)
    {
        MlaShapes.Validate(heads, latentDim, ropeDim);
        Launch(typeof(MlaKernels), MlaKernel, Config(queryCount, MlaHeadBlocks(heads), MlaGroupSize),
            queries, new Bf16Rows(kvCache), new DenseKeys(pages), output, ArrayView<float>.Empty, queryCount, heads, latentDim, ropeDim, scale);
    }

    protected void StoreKvCacheBf16(ArrayView<float> rows, ArrayView<ushort> kvCache, int tokenCount, int rowLength, int firstRow) =>
        Launch(typeof(MlaKernels), nameof(MlaKernels.StoreKvCacheBf16), Config((tokenCount * rowLength + 255) / 256, 1, 256),
            rows, kvCache, tokenCount, rowLength, firstRow);

    protected void StoreKvCacheFp8(ArrayView<float> values, ArrayView<byte> kvCache, ArrayView<int> rows, int tokenCount, int columns, int firstColumn,
        int latentDim, int ropeDim) =>
        Launch(typeof(MlaKernels), nameof(MlaKernels.StoreKvCacheFp8), Config(tokenCount, 1, MlaKernels.StoreKvCacheFp8GroupSize),
            values, kvCache, rows, tokenCount, columns, firstColumn, latentDim, ropeDim);

    /// <summary>Sparse MLA over a cache of any row format (<paramref name="kvCache"/>: an F32Rows, Bf16Rows, Fp8LatentRows, ...).</summary>
    protected void SparseMlaOver(ArrayView<float> queries, object kvCache, ArrayView<int> selected, ArrayView<int> counts, ArrayView<float> output,
        int queryCount, int heads, int latentDim, int ropeDim, int selectedStride, float scale)
    {
        MlaShapes.Validate(heads, latentDim, ropeDim);
        Launch(typeof(MlaKernels), MlaKernel, Config(queryCount, MlaHeadBlocks(heads), MlaGroupSize),
            queries, kvCache, new SelectedKeys(selected, counts, selectedStride), output, ArrayView<float>.Empty,
            queryCount, heads, latentDim, ropeDim, scale);
    }

    /// <summary>Dense causal MLA over a cache of any row format.</summary>
    protected void DenseMlaOver(ArrayView<float> queries, object kvCache, KeyPages pages, ArrayView<float> output,
        int queryCount, int heads, int latentDim, int ropeDim, float scale)
    {
        MlaShapes.Validate(heads, latentDim, ropeDim);
        Launch(typeof(MlaKernels), MlaKernel, Config(queryCount, MlaHeadBlocks(heads), MlaGroupSize),
            queries, kvCache, new DenseKeys(pages), output, ArrayView<float>.Empty, queryCount, heads, latentDim, ropeDim, scale);
    }

    /// <summary>Dense causal MLA in key slices (fp32 cache), for <see cref="MlaKernels.CombineMlaSplits"/>.</summary>
    protected void DenseMlaSplit(ArrayView<float> queries, ArrayView<float> kvCache, KeyPages pages, ArrayView<float> partialOutput, ArrayView<float> partialStats,
        int queryCount, int heads, int latentDim, int ropeDim, int splits, float scale)
    {
        MlaShapes.Validate(heads, latentDim, ropeDim);
        Launch(typeof(MlaKernels), MlaKernel, Config(queryCount, MlaHeadBlocks(heads) * splits, MlaGroupSize),
            queries, new F32Rows(kvCache), new DenseKeySlices(pages, splits), partialOutput, partialStats, queryCount, heads, latentDim, ropeDim, scale);
    }

    /// <summary>
    /// Split-key sparse MLA of random queries over a random fp32 cache (query q attends counts[q] distinct rows in random
    /// order), merged by <see cref="MlaKernels.CombineMlaSplits"/>, against the float64 reference; with one slice, also
    /// the bits of the single-pass launch.
    /// </summary>
    /// <param name="fewSlicesCombine">Merge with <see cref="MlaKernels.CombineFewMlaSplits"/> (one thread per element) instead of
    /// <see cref="MlaKernels.CombineMlaSplits"/>.</param>
    protected void CheckSplitKeyAttention(Random random, int heads, int latentDim, int ropeDim, int cacheRows, int[] counts, int splits, Tolerance tolerance,
        bool fewSlicesCombine = false)
    {
        int rowLength = latentDim + ropeDim;
        float[] queries = RandomTensors.Normal(random, (long)counts.Length * heads * rowLength, 0.3f);
        float[] cache = RandomTensors.Normal(random, (long)cacheRows * rowLength);
        var keys = counts.Select(c => Enumerable.Range(0, cacheRows).OrderBy(_ => random.Next()).Take(c).ToArray()).ToArray();
        var selected = new int[counts.Length * cacheRows];
        for (int q = 0; q < counts.Length; q++)
        {
            keys[q].CopyTo(selected, q * cacheRows);
        }
        float scale = MlaShapes.SoftmaxScale(latentDim / 2, ropeDim);
        using var qBuffer = Upload(queries);
        using var cacheBuffer = Upload(cache);
        using var selectedBuffer = Upload(selected);
        using var countBuffer = Upload(counts);
        using var partialOutput = Allocate<float>((long)counts.Length * splits * heads * latentDim);
        using var partialStats = Allocate<float>((long)counts.Length * splits * heads * 2);
        using var output = Allocate<float>((long)counts.Length * heads * latentDim);
        SparseMlaSplit(V(qBuffer), V(cacheBuffer), V(selectedBuffer), V(countBuffer), V(partialOutput), V(partialStats),
            counts.Length, heads, latentDim, ropeDim, cacheRows, splits, scale);
        if (fewSlicesCombine)
            Launch(typeof(MlaKernels), nameof(MlaKernels.CombineFewMlaSplits), Config((long)counts.Length * heads, (latentDim + 127) / 128, 128),
                V(partialOutput), V(partialStats), V(output), counts.Length, heads, latentDim, splits);
        else
            CombineMlaSplits(V(partialOutput), V(partialStats), V(output), counts.Length, heads, latentDim, splits);
        float[] combined = Download(output);
        double[] expected = MlaAttentionReference.Absorbed(queries, cache, keys, heads, latentDim, ropeDim, scale);
        Tolerance.AssertClose(expected, combined, tolerance, $"split-key sparse MLA o_lat ({splits} splits{(fewSlicesCombine ? ", few-slices combine" : "")})");
        if (splits == 1)
        {
            using var single = Allocate<float>((long)counts.Length * heads * latentDim);
            SparseMla(V(qBuffer), V(cacheBuffer), V(selectedBuffer), V(countBuffer), V(single), counts.Length, heads, latentDim, ropeDim, cacheRows, scale);
            AssertIdentical(Download(single), combined, "one slice vs the single-pass kernel");
        }
    }

    /// <summary>Split-key sparse MLA over a cache of any row format.</summary>
    protected void SparseMlaSplitOver(ArrayView<float> queries, object kvCache, ArrayView<int> selected, ArrayView<int> counts,
        ArrayView<float> partialOutput, ArrayView<float> partialStats, int queryCount, int heads, int latentDim, int ropeDim, int selectedStride, int splits, float scale)
    {
        MlaShapes.Validate(heads, latentDim, ropeDim);
        Launch(typeof(MlaKernels), MlaKernel, Config(queryCount, MlaHeadBlocks(heads) * splits, MlaGroupSize),
            queries, kvCache, new SelectedKeySlices(selected, counts, selectedStride, splits), partialOutput, partialStats,
            queryCount, heads, latentDim, ropeDim, scale);
    }

    protected void SparseMlaSplit(ArrayView<float> queries, ArrayView<float> kvCache, ArrayView<int> selected, ArrayView<int> counts,
        ArrayView<float> partialOutput, ArrayView<float> partialStats, int queryCount, int heads, int latentDim, int ropeDim, int selectedStride, int splits, float scale)
    {
        MlaShapes.Validate(heads, latentDim, ropeDim);
        Launch(typeof(MlaKernels), MlaKernel, Config(queryCount, MlaHeadBlocks(heads) * splits, MlaGroupSize),
            queries, new F32Rows(kvCache), new SelectedKeySlices(selected, counts, selectedStride, splits), partialOutput, partialStats,
            queryCount, heads, latentDim, ropeDim, scale);
    }

    protected void CombineMlaSplits(ArrayView<float> partialOutput, ArrayView<float> partialStats, ArrayView<float> output,
        int queryCount, int heads, int latentDim, int splits) =>
        Launch(typeof(MlaKernels), nameof(MlaKernels.CombineMlaSplits), Config((long)queryCount * heads, (latentDim + 127) / 128, 128),
            partialOutput, partialStats, output, queryCount, heads, latentDim, splits);

    protected void AbsorbQuery(string kernel, object q, object kvB, ArrayView<float> queries, int queryCount, int heads, int nopeDim, int ropeDim, int valueDim, int latentDim) =>
        Launch(typeof(MlaKernels), kernel, Config((long)queryCount * heads, (latentDim + ropeDim + 127) / 128, 128),
            q, kvB, queries, queryCount, heads, nopeDim, ropeDim, valueDim, latentDim);

    protected void UpProjectOutput(string kernel, ArrayView<float> latentOutput, object kvB, ArrayView<float> output, int queryCount, int heads, int nopeDim, int valueDim, int latentDim) =>
        Launch(typeof(MlaKernels), kernel, Config((long)queryCount * heads, (valueDim + 3) / 4, 128),
            latentOutput, kvB, output, queryCount, heads, nopeDim, valueDim, latentDim);

    protected void MoeRouter(ArrayView<float> logits, ArrayView<float> bias, ArrayView<int> ids, ArrayView<float> weights,
        int tokenCount, int experts, int groups, int topkGroups, int topk, float scaling, bool normalize)
    {
        RouterMath.Validate(experts, groups, topkGroups, topk);
        Launch(typeof(MoeKernels), nameof(MoeKernels.MoeRouter), Config((tokenCount + 31) / 32, 1, 32),
            logits, bias, ids, weights, tokenCount, experts, groups, topkGroups, topk, scaling, normalize ? 1 : 0);
    }

    protected void PermuteByExpert(ArrayView<int> ids, ArrayView<int> counts, ArrayView<int> offsets, ArrayView<int> permuted,
        ArrayView<int> slots, ArrayView<int> slotExperts, int pairCount, int experts, int firstExpert = 0, bool serial = false)
    {
        if (serial)
            Launch(typeof(MoeKernels), nameof(MoeKernels.PermuteByExpertSerial), Config(1, 1, 256),
                ids, counts, offsets, permuted, slots, slotExperts, pairCount, experts, firstExpert);
        else
            Launch(typeof(MoeKernels), nameof(MoeKernels.PermuteByExpert), Config(experts, 1, MoeKernels.PermuteThreads),
                ids, counts, offsets, permuted, slots, slotExperts, pairCount, experts, firstExpert);
    }

    protected void GroupedFfnGateUp<TWeights>(ArrayView<float> x, ArrayView<int> permuted, ArrayView<int> slotExperts, TWeights gate, TWeights up,
        ArrayView<float> activations, int slotCount, int hidden, int intermediate, int topk, int groupSize)
        where TWeights : struct, IRowFormat<TWeights> =>
        Launch(typeof(MoeKernels), nameof(MoeKernels.GroupedFfnGateUp), Config(slotCount, RowBlocks(intermediate, groupSize), groupSize),
            x, permuted, slotExperts, gate, up, activations, slotCount, hidden, intermediate, topk, groupSize);

    protected void GroupedFfnDown<TWeights>(ArrayView<float> activations, ArrayView<int> slotExperts, TWeights down, ArrayView<float> outputs,
        int slotCount, int hidden, int intermediate, int groupSize)
        where TWeights : struct, IRowFormat<TWeights> =>
        Launch(typeof(MoeKernels), nameof(MoeKernels.GroupedFfnDown), Config(slotCount, RowBlocks(hidden, groupSize), groupSize),
            activations, slotExperts, down, outputs, slotCount, hidden, intermediate, groupSize);

    protected void ExpertItemGroups(ArrayView<int> offsets, ArrayView<int> groupFirst, ArrayView<int> groupEnd, int experts, int groupCount, int items) =>
        Launch(typeof(MoeKernels), nameof(MoeKernels.ExpertItemGroups), Config(1, 1, 256), offsets, groupFirst, groupEnd, experts, groupCount, items);

    protected void GroupedFfnGateUpRows<TWeights>(ArrayView<float> x, ArrayView<int> permuted, ArrayView<int> slotExperts, ArrayView<int> groupFirst,
        ArrayView<int> groupEnd, TWeights gate, TWeights up, ArrayView<float> activations, int groupCount, int hidden, int intermediate, int topk, int items)
        where TWeights : struct, IRowFormat<TWeights> =>
        Launch(typeof(MoeKernels), nameof(MoeKernels.GroupedFfnGateUpRows), Config((intermediate + 7) / 8, groupCount, 128),
            x, permuted, slotExperts, groupFirst, groupEnd, gate, up, activations, groupCount, hidden, intermediate, topk, items);

    protected void GroupedFfnDownRows<TWeights>(ArrayView<float> activations, ArrayView<int> slotExperts, ArrayView<int> groupFirst, ArrayView<int> groupEnd,
        TWeights down, ArrayView<float> outputs, int groupCount, int hidden, int intermediate, int items)
        where TWeights : struct, IRowFormat<TWeights> =>
        Launch(typeof(MoeKernels), nameof(MoeKernels.GroupedFfnDownRows), Config((hidden + 7) / 8, groupCount, 128),
            activations, slotExperts, groupFirst, groupEnd, down, outputs, groupCount, hidden, intermediate, items);

    /// <summary>Groups along Y of the grouped FFN kernels: a warp per row, or one row per single-thread group.</summary>
    private static int RowBlocks(int rows, int groupSize) => (rows + (groupSize + 31) / 32 - 1) / ((groupSize + 31) / 32);

    protected void CombineExperts(ArrayView<float> expertOutputs, ArrayView<int> pairSlots, ArrayView<float> weights, ArrayView<float> shared,
        ArrayView<float> output, int tokenCount, int hidden, int topk) =>
        Launch(typeof(MoeKernels), nameof(MoeKernels.CombineExperts), Config(tokenCount, (hidden + 127) / 128, 128),
            expertOutputs, pairSlots, weights, shared, output, tokenCount, hidden, topk);

    /// <summary>Exact equality, naming the first differing element.</summary>
    protected static void AssertIdentical<T>(T[] expected, T[] actual, string what)
        where T : IEquatable<T>
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            if (!expected[i].Equals(actual[i]))
            {
                Assert.Fail($"{what}: first difference at [{i}]: expected {expected[i]}, got {actual[i]}");
            }
        }
    }
}
