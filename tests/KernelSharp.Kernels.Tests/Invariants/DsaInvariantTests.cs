using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Paging;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Invariants;

/// <summary>
/// The invariants of DSA.md §4 on the kernels chained as a layer runs them (indexer → top-k → sparse MLA):
/// index_topk ≥ T gives dense MLA exactly; a key outside a query's selection cannot change its output; the absorbed
/// pipeline equals the expanded form; the kernel selection equals the reference selection up to near-ties.
/// </summary>
public abstract class DsaInvariantTests(BackendFixture backend) : SparseKernelTestBase(backend)
{
    private const int IndexHeads = 4;
    private const int IndexDim = 32;
    private const int Heads = 4;
    private const int LatentDim = 64;
    private const int RopeDim = 16;
    private const int IndexTopk = 32; // the tiny fixture's index_topk

    [SkippableTheory]
    [InlineData(IndexTopk - 1)]
    [InlineData(IndexTopk)]
    [InlineData(IndexTopk + 1)]
    public void Sparse_equals_dense_wherever_every_visible_key_is_selected(int keyCount)
    {
        RequireBackend();
        var layer = new Layer(NewRandom(keyCount), queryCount: 6, keyCount);
        var (selected, counts) = SelectKeys(layer);
        float[] sparse = SparseOutput(layer, selected, counts);
        float[] dense = DenseOutput(layer);
        int rowSize = Heads * LatentDim;
        for (int s = 0; s < layer.QueryCount; s++)
        {
            int visible = layer.Offset + s + 1;
            Assert.Equal(Math.Min(visible, IndexTopk), counts[s]);
            if (visible <= IndexTopk)
            {
                // All visible keys selected, in ascending order: the very same float operations as the dense kernel.
                AssertIdentical(dense.AsSpan(s * rowSize, rowSize).ToArray(), sparse.AsSpan(s * rowSize, rowSize).ToArray(), $"query {s}: sparse vs dense");
            }
        }
        // Where T exceeds index_topk the last query attends a strict subset: it must match the reference over that subset.
        var keys = Enumerable.Range(0, layer.QueryCount).Select(s => selected.AsSpan(s * IndexTopk, counts[s]).ToArray()).ToArray();
        double[] expected = MlaAttentionReference.Absorbed(layer.Queries, layer.Cache, keys, Heads, LatentDim, RopeDim, layer.Scale);
        Tolerance.AssertClose(expected, sparse, new Tolerance(2e-4, 2e-5), "sparse MLA over the kernel's selection");
    }

    [SkippableFact]
    public void Changing_a_non_selected_key_leaves_the_output_unchanged()
    {
        RequireBackend();
        var layer = new Layer(NewRandom(77), queryCount: 3, keyCount: 70);
        var (selected, counts) = SelectKeys(layer);
        float[] before = SparseOutput(layer, selected, counts);
        int query = layer.QueryCount - 1;
        var chosen = selected.AsSpan(query * IndexTopk, counts[query]).ToArray().ToHashSet();
        int victim = Enumerable.Range(0, layer.Offset + query + 1).First(t => !chosen.Contains(t));
        for (int e = 0; e < LatentDim + RopeDim; e++)
        {
            layer.Cache[victim * (LatentDim + RopeDim) + e] += 5f;
        }
        float[] after = SparseOutput(layer, selected, counts);
        int rowSize = Heads * LatentDim;
        AssertIdentical(before.AsSpan(query * rowSize, rowSize).ToArray(), after.AsSpan(query * rowSize, rowSize).ToArray(), "output of a query that did not select the key");
        // Control: a query that did select the victim moves.
        int witness = Enumerable.Range(0, layer.QueryCount).FirstOrDefault(s => selected.AsSpan(s * IndexTopk, counts[s]).Contains(victim), -1);
        if (witness >= 0)
        {
            Assert.NotEqual(before.AsSpan(witness * rowSize, rowSize).ToArray(), after.AsSpan(witness * rowSize, rowSize).ToArray());
        }
    }

    [SkippableFact]
    public void Absorbed_pipeline_equals_expanded_mla()
    {
        RequireBackend();
        var random = NewRandom(5);
        int queryCount = 4;
        int keyCount = 23;
        int nopeDim = 32;
        int valueDim = 32;
        float[] q = RandomTensors.Normal(random, (long)queryCount * Heads * (nopeDim + RopeDim));
        float[] latent = RandomTensors.Normal(random, (long)keyCount * LatentDim);
        float[] kPe = RandomTensors.Normal(random, (long)keyCount * RopeDim);
        float[] kvB = RandomTensors.Normal(random, (long)Heads * (nopeDim + valueDim) * LatentDim, 0.15f);
        var cache = new float[keyCount * (LatentDim + RopeDim)];
        for (int t = 0; t < keyCount; t++)
        {
            latent.AsSpan(t * LatentDim, LatentDim).CopyTo(cache.AsSpan(t * (LatentDim + RopeDim)));
            kPe.AsSpan(t * RopeDim, RopeDim).CopyTo(cache.AsSpan(t * (LatentDim + RopeDim) + LatentDim));
        }
        int[] positions = [keyCount - 4, keyCount - 3, keyCount - 2, keyCount - 1];
        float scale = MlaShapes.SoftmaxScale(nopeDim, RopeDim);

        using var qBuffer = Upload(q);
        using var wBuffer = Upload(kvB);
        using var cacheBuffer = Upload(cache);
        using var positionBuffer = Upload(positions);
        using var queries = Allocate<float>((long)queryCount * Heads * (LatentDim + RopeDim));
        using var latentOutput = Allocate<float>((long)queryCount * Heads * LatentDim);
        using var output = Allocate<float>((long)queryCount * Heads * valueDim);
        AbsorbQuery(nameof(MlaKernels.AbsorbQuery), V(qBuffer), new F32Rows(V(wBuffer)), V(queries), queryCount, Heads, nopeDim, RopeDim, valueDim, LatentDim);
        DenseMla(V(queries), V(cacheBuffer), KeyPages.Contiguous(V(positionBuffer)), V(latentOutput), queryCount, Heads, LatentDim, RopeDim, scale);
        UpProjectOutput(nameof(MlaKernels.UpProjectOutput), V(latentOutput), new F32Rows(V(wBuffer)), V(output), queryCount, Heads, nopeDim, valueDim, LatentDim);

        double[] expected = MlaExpandedReference.Attention(q, latent, kPe, kvB, MlaAttentionReference.CausalKeys(positions),
            Heads, nopeDim, RopeDim, valueDim, LatentDim, scale);
        Tolerance.AssertClose(expected, Download(output), new Tolerance(1e-3, 1e-4), "absorbed vs expanded MLA output");
    }

    [SkippableFact]
    public void Kernel_selection_equals_reference_selection_up_to_near_ties()
    {
        RequireBackend();
        var layer = new Layer(NewRandom(99), queryCount: 8, keyCount: 120);
        var (selected, counts) = SelectKeys(layer);
        double[] reference = IndexerScoresReference.Scores(layer.IndexQueries, layer.IndexWeights, layer.IndexKeys,
            layer.QueryCount, layer.KeyCount, IndexHeads, IndexDim, layer.IndexScale, KeyPagesReference.Causal(layer.QueryCount, layer.Offset));
        for (int s = 0; s < layer.QueryCount; s++)
        {
            SelectionAssert.TieTolerantTopK(reference.AsSpan(s * layer.KeyCount, layer.KeyCount), selected.AsSpan(s * IndexTopk, counts[s]),
                IndexTopk, 1e-4, $"query {s}");
        }
    }

    [SkippableTheory]
    [InlineData(IndexTopk)]       // every key still selected
    [InlineData(IndexTopk + 1)]   // the decode step where T crosses index_topk
    public void Decode_step_equals_the_last_row_of_prefill(int keyCount)
    {
        RequireBackend();
        var layer = new Layer(NewRandom(1000 + keyCount), queryCount: 4, keyCount);
        int last = layer.QueryCount - 1;
        using var keys = Upload(layer.IndexKeys);
        using var values = Allocate<byte>((long)keyCount * IndexDim);
        using var keyScales = Allocate<float>(keyCount);
        using var keyRows = Upload(Enumerable.Range(0, keyCount).ToArray()); // key t in cache row t
        QuantizeIndexKeysFp8(V(keys), V(values), V(keyScales), V(keyRows), keyCount, IndexDim, 32);

        // Prefill: all S queries through the thread-per-pair indexer.
        using var q = Upload(layer.IndexQueries);
        using var w = Upload(layer.IndexWeights);
        using var prefillScores = Allocate<float>((long)layer.QueryCount * keyCount);
        using var prefillPages = Upload(KeyPagesReference.Causal(layer.QueryCount, layer.Offset));
        IndexerScores(V(q), V(w), new Fp8RowScaledRows(V(values), V(keyScales)), V(prefillScores), layer.QueryCount, keyCount, IndexHeads, IndexDim, layer.IndexScale, prefillPages.Pages, 128);
        // Decode: only the newest token, through the warp-per-key-block decode kernel.
        using var lastQuery = Upload(layer.IndexQueries.AsSpan(last * IndexHeads * IndexDim, IndexHeads * IndexDim).ToArray());
        using var lastWeights = Upload(layer.IndexWeights.AsSpan(last * IndexHeads, IndexHeads).ToArray());
        using var decodeScores = Allocate<float>(keyCount);
        IndexerDecodeFp8(V(lastQuery), V(lastWeights), V(values), V(keyScales), V(decodeScores), keyCount, IndexHeads, IndexDim, layer.IndexScale);

        float[] prefillRow = Download(prefillScores).AsSpan(last * keyCount, keyCount).ToArray();
        float[] decodeRow = Download(decodeScores);
        Tolerance.AssertClose(prefillRow, decodeRow, Tolerance.Fp32, "decode vs prefill index scores of the newest token");
        int[] prefillSelection = SelectOnDevice(prefillRow, keyCount);
        int[] decodeSelection = SelectOnDevice(decodeRow, keyCount);
        var prefillDoubles = prefillRow.Select(x => (double)x).ToArray();
        SelectionAssert.TieTolerantTopK(prefillDoubles, decodeSelection, IndexTopk, 1e-4, "decode selection");
        if (prefillSelection.SequenceEqual(decodeSelection))
        {
            // Same keys in the same order: the newest token's attention is the same bits in prefill and in decode.
            float[] batch = SparseOutput(layer, Repeat(prefillSelection, layer.QueryCount), Enumerable.Repeat(prefillSelection.Length, layer.QueryCount).ToArray());
            var single = new Layer(NewRandom(0), 1, keyCount);
            int rowSize = Heads * LatentDim;
            layer.Queries.AsSpan(last * Heads * (LatentDim + RopeDim), Heads * (LatentDim + RopeDim)).CopyTo(single.Queries);
            layer.Cache.CopyTo(single.Cache, 0);
            float[] alone = SparseOutput(single, Repeat(prefillSelection, 1), [prefillSelection.Length]);
            AssertIdentical(batch.AsSpan(last * rowSize, rowSize).ToArray(), alone, "newest token's o_lat: prefill batch vs decode");
        }
    }

    private int[] SelectOnDevice(float[] row, int keyCount)
    {
        using var scores = Upload(row);
        using var selected = Allocate<int>(IndexTopk);
        using var count = Allocate<int>(1);
        TopKSelect(V(scores), V(selected), V(count), 1, keyCount, keyCount, IndexTopk, 256);
        return Download(selected).Take(Download(count)[0]).ToArray();
    }

    /// <summary>The same selection for every query: [queries, IndexTopk], padded with zeros.</summary>
    private static int[] Repeat(int[] selection, int queries)
    {
        var result = new int[queries * IndexTopk];
        for (int q = 0; q < queries; q++)
        {
            selection.CopyTo(result, q * IndexTopk);
        }
        return result;
    }

    /// <summary>Indexer (fp32 keys) then top-k on the device. Returns selected [S, IndexTopk] and counts [S].</summary>
    private (int[] Selected, int[] Counts) SelectKeys(Layer layer)
    {
        using var q = Upload(layer.IndexQueries);
        using var w = Upload(layer.IndexWeights);
        using var k = Upload(layer.IndexKeys);
        using var scores = Allocate<float>((long)layer.QueryCount * layer.KeyCount);
        using var selected = Allocate<int>((long)layer.QueryCount * IndexTopk);
        using var counts = Allocate<int>(layer.QueryCount);
        using var pages = Upload(KeyPagesReference.Causal(layer.QueryCount, layer.Offset));
        IndexerScores(V(q), V(w), new F32Rows(V(k)), V(scores), layer.QueryCount, layer.KeyCount, IndexHeads, IndexDim, layer.IndexScale, pages.Pages, 128);
        TopKSelect(V(scores), V(selected), V(counts), layer.QueryCount, layer.KeyCount, layer.KeyCount, IndexTopk, 256);
        return (Download(selected), Download(counts));
    }

    private float[] SparseOutput(Layer layer, int[] selected, int[] counts)
    {
        using var queries = Upload(layer.Queries);
        using var cache = Upload(layer.Cache);
        using var selectedBuffer = Upload(selected);
        using var countBuffer = Upload(counts);
        using var output = Allocate<float>((long)layer.QueryCount * Heads * LatentDim);
        SparseMla(V(queries), V(cache), V(selectedBuffer), V(countBuffer), V(output), layer.QueryCount, Heads, LatentDim, RopeDim, IndexTopk, layer.Scale);
        return Download(output);
    }

    private float[] DenseOutput(Layer layer)
    {
        using var queries = Upload(layer.Queries);
        using var cache = Upload(layer.Cache);
        using var positions = Upload(Enumerable.Range(layer.Offset, layer.QueryCount).ToArray());
        using var output = Allocate<float>((long)layer.QueryCount * Heads * LatentDim);
        DenseMla(V(queries), V(cache), KeyPages.Contiguous(V(positions)), V(output), layer.QueryCount, Heads, LatentDim, RopeDim, layer.Scale);
        return Download(output);
    }

    /// <summary>
    /// Random inputs of one DSA layer in prefill: S new tokens at the end of T cached ones (query s sits at
    /// position T−S+s). Indexer queries [S, IH, ID], weights [S, IH], keys [T, ID]; MLA queries [S, H, L+R], cache [T, L+R].
    /// </summary>
    private sealed class Layer(Random random, int queryCount, int keyCount)
    {
        public int QueryCount { get; } = queryCount;
        public int KeyCount { get; } = keyCount;
        public int Offset => KeyCount - QueryCount;
        public float IndexScale { get; } = 1f / MathF.Sqrt(IndexDim);
        public float Scale { get; } = MlaShapes.SoftmaxScale(32, RopeDim);
        public float[] IndexQueries { get; } = RandomTensors.Normal(random, (long)queryCount * IndexHeads * IndexDim);
        public float[] IndexWeights { get; } = RandomTensors.Uniform(random, (long)queryCount * IndexHeads, 0.5f);
        public float[] IndexKeys { get; } = RandomTensors.Normal(random, (long)keyCount * IndexDim);
        public float[] Queries { get; } = RandomTensors.Normal(random, (long)queryCount * Heads * (LatentDim + RopeDim), 0.3f);
        public float[] Cache { get; } = RandomTensors.Normal(random, (long)keyCount * (LatentDim + RopeDim));
    }
}

public sealed class DsaInvariantTests_FastCpu(FastCpuBackend b) : DsaInvariantTests(b), IClassFixture<FastCpuBackend>;
public sealed class DsaInvariantTests_IlgpuCpu(IlgpuCpuBackend b) : DsaInvariantTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class DsaInvariantTests_Cuda(CudaBackend b) : DsaInvariantTests(b), IClassFixture<CudaBackend>;
public sealed class DsaInvariantTests_OpenCL(OpenCLBackend b) : DsaInvariantTests(b), IClassFixture<OpenCLBackend>;
