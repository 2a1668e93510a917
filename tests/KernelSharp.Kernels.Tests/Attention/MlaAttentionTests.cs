using KernelSharp.Dsl;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Paging;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using KernelSharp.Kernels.Tests.Invariants;
using Xunit;

namespace KernelSharp.Kernels.Tests.Attention;

/// <summary>
/// Sparse and dense MLA attention (absorbed form on the latent cache) and the q-absorption / output up-projection
/// kernels against their float64 references.
/// </summary>
public abstract class MlaAttentionTests(BackendFixture backend) : SparseKernelTestBase(backend)
{
    /// <summary>The tolerance of an attention output: fp32 scores through exp, against float64.</summary>
    private static readonly Tolerance AttentionTolerance = new(2e-4, 2e-5);

    [SkippableTheory]
    [InlineData(4, 10, 64, 16, 50)]    // tiny model's latent/rope dims; 10 heads = a full and a partial head block
    [InlineData(2, 3, 512, 64, 40)]    // DeepSeek-V3.2's kv_lora_rank and rope dim
    [InlineData(1, 1, 4, 0, 5)]        // smallest: one head, no rope part
    [InlineData(2, 18, 64, 16, 40)]    // two head blocks of the warp-heads layout, the second with one warp's pair
    public void Sparse_attention_matches_reference(int queryCount, int heads, int latentDim, int ropeDim, int cacheRows)
    {
        RequireBackend();
        var random = NewRandom(queryCount * 100 + heads + latentDim);
        int rowLength = latentDim + ropeDim;
        float[] queries = RandomTensors.Normal(random, (long)queryCount * heads * rowLength, 0.3f);
        float[] cache = RandomTensors.Normal(random, (long)cacheRows * rowLength);
        // Per query a selection of a different size (0, 1, a full tile, a tile + 1, ...), in no particular order.
        int[] sizes = [0, 1, 16, 17, cacheRows, 33];
        int stride = cacheRows;
        var keys = new int[queryCount][];
        var selected = new int[queryCount * stride];
        var counts = new int[queryCount];
        for (int q = 0; q < queryCount; q++)
        {
            int count = Math.Min(cacheRows, sizes[(q + heads) % sizes.Length]);
            keys[q] = Enumerable.Range(0, cacheRows).OrderBy(_ => random.Next()).Take(count).ToArray();
            keys[q].CopyTo(selected, q * stride);
            counts[q] = count;
        }
        float scale = MlaShapes.SoftmaxScale(latentDim / 2, ropeDim);
        using var qBuffer = Upload(queries);
        using var cacheBuffer = Upload(cache);
        using var selectedBuffer = Upload(selected);
        using var countBuffer = Upload(counts);
        using var output = Allocate<float>((long)queryCount * heads * latentDim);
        SparseMla(V(qBuffer), V(cacheBuffer), V(selectedBuffer), V(countBuffer), V(output), queryCount, heads, latentDim, ropeDim, stride, scale);
        double[] expected = MlaAttentionReference.Absorbed(queries, cache, keys, heads, latentDim, ropeDim, scale);
        Tolerance.AssertClose(expected, Download(output), AttentionTolerance, "sparse MLA o_lat");
    }

    [SkippableFact]
    public void Dense_causal_attention_matches_reference()
    {
        RequireBackend();
        var random = NewRandom(21);
        int heads = 9;
        int latentDim = 64;
        int ropeDim = 16;
        int cacheRows = 37;
        int[] positions = [0, 15, 16, 36, 20];
        int rowLength = latentDim + ropeDim;
        float[] queries = RandomTensors.Normal(random, (long)positions.Length * heads * rowLength, 0.3f);
        float[] cache = RandomTensors.Normal(random, (long)cacheRows * rowLength);
        float scale = MlaShapes.SoftmaxScale(32, ropeDim, mscale: 1.3);
        using var qBuffer = Upload(queries);
        using var cacheBuffer = Upload(cache);
        using var positionBuffer = Upload(positions);
        using var output = Allocate<float>((long)positions.Length * heads * latentDim);
        DenseMla(V(qBuffer), V(cacheBuffer), KeyPages.Contiguous(V(positionBuffer)), V(output), positions.Length, heads, latentDim, ropeDim, scale);
        double[] expected = MlaAttentionReference.Absorbed(queries, cache, MlaAttentionReference.CausalKeys(positions), heads, latentDim, ropeDim, scale);
        Tolerance.AssertClose(expected, Download(output), AttentionTolerance, "dense MLA o_lat");
    }

    /// <summary>Dense attention through a paged cache (<see cref="ScatteredPages"/>): each query reads its own sequence's
    /// blocks up to its position, fp32 and bf16 rows.</summary>
    [SkippableTheory]
    [MemberData(nameof(ScatteredPages.Cases), MemberType = typeof(ScatteredPages))]
    public void Dense_attention_through_a_paged_cache_matches_reference(int pagesCase)
    {
        RequireBackend();
        var random = NewRandom(23 + pagesCase);
        int heads = 9;
        int latentDim = 64;
        int ropeDim = 16;
        int rowLength = latentDim + ropeDim;
        var hostPages = ScatteredPages.Case(pagesCase);
        int queryCount = hostPages.Rows;
        float[] queries = RandomTensors.Normal(random, (long)queryCount * heads * rowLength, 0.3f);
        float[] pool = RandomTensors.Normal(random, (long)ScatteredPages.PoolRows * rowLength);
        ushort[] poolBits = pool.Select(Bf16.FromFloat).ToArray();
        float scale = MlaShapes.SoftmaxScale(32, ropeDim);
        using var qBuffer = Upload(queries);
        using var cacheBuffer = Upload(pool);
        using var bf16Buffer = Upload(poolBits);
        using var pages = Upload(hostPages);
        using var output = Allocate<float>((long)queryCount * heads * latentDim);
        int[][] keys = MlaAttentionReference.CausalKeys(hostPages);

        DenseMla(V(qBuffer), V(cacheBuffer), pages.Pages, V(output), queryCount, heads, latentDim, ropeDim, scale);
        Tolerance.AssertClose(MlaAttentionReference.Absorbed(queries, pool, keys, heads, latentDim, ropeDim, scale), Download(output),
            AttentionTolerance, "paged dense MLA o_lat (fp32 cache)");

        DenseMlaBf16Cache(V(qBuffer), V(bf16Buffer), pages.Pages, V(output), queryCount, heads, latentDim, ropeDim, scale);
        float[] rounded = poolBits.Select(Bf16.ToFloat).ToArray();
        Tolerance.AssertClose(MlaAttentionReference.Absorbed(queries, rounded, keys, heads, latentDim, ropeDim, scale), Download(output),
            AttentionTolerance, "paged dense MLA o_lat (bf16 cache)");
    }

    [SkippableTheory]
    [InlineData(1)]   // one slice: the same bits as the single-pass kernel
    [InlineData(3)]   // uneven slices
    [InlineData(8)]   // more slices than tiles: empty slices must drop out of the merge
    [InlineData(150)] // more slices than the merge keeps weights for in shared memory (MlaKernels.CombinedSlicesInSharedMemory)
    public void Split_key_attention_matches_reference(int splits)
    {
        RequireBackend();
        CheckSplitKeyAttention(NewRandom(50 + splits), heads: 10, latentDim: 64, ropeDim: 16, cacheRows: 60, counts: [50, 0, 17], splits, AttentionTolerance);
    }

    /// <summary>The merge for a few slices (one thread per element over every slice) against the same reference, an empty
    /// query and more slices than one query's tiles included.</summary>
    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)] // MlaKernels.FewCombinedSlices
    public void Split_key_attention_merged_by_the_few_slices_combine_matches_reference(int splits)
    {
        RequireBackend();
        CheckSplitKeyAttention(NewRandom(60 + splits), heads: 10, latentDim: 200, ropeDim: 16, cacheRows: 60, counts: [50, 0, 3], splits,
            AttentionTolerance, fewSlicesCombine: true);
    }

    /// <summary>Dense causal attention in key slices (decode at short context), through a paged cache, merged.</summary>
    [SkippableTheory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(40)] // more slices than the longest query has tiles: trailing slices are empty
    public void Dense_attention_in_key_slices_matches_reference(int splits)
    {
        RequireBackend();
        Skip.If(Backend.Backend == TestBackend.IlgpuCpu && splits != 3, "ILGPU's CPU accelerator runs the uneven case only (FastCpu and CUDA run all)");
        var random = NewRandom(70 + splits);
        int heads = 9;
        int latentDim = 64;
        int ropeDim = 16;
        int rowLength = latentDim + ropeDim;
        var hostPages = ScatteredPages.Case(0);
        int queryCount = hostPages.Rows;
        float[] queries = RandomTensors.Normal(random, (long)queryCount * heads * rowLength, 0.3f);
        float[] pool = RandomTensors.Normal(random, (long)ScatteredPages.PoolRows * rowLength);
        float scale = MlaShapes.SoftmaxScale(32, ropeDim);
        using var qBuffer = Upload(queries);
        using var cacheBuffer = Upload(pool);
        using var pages = Upload(hostPages);
        using var partialOutput = Allocate<float>((long)queryCount * splits * heads * latentDim);
        using var partialStats = Allocate<float>((long)queryCount * splits * heads * 2);
        using var output = Allocate<float>((long)queryCount * heads * latentDim);
        DenseMlaSplit(V(qBuffer), V(cacheBuffer), pages.Pages, V(partialOutput), V(partialStats), queryCount, heads, latentDim, ropeDim, splits, scale);
        CombineMlaSplits(V(partialOutput), V(partialStats), V(output), queryCount, heads, latentDim, splits);
        Tolerance.AssertClose(MlaAttentionReference.Absorbed(queries, pool, MlaAttentionReference.CausalKeys(hostPages), heads, latentDim, ropeDim, scale),
            Download(output), AttentionTolerance, $"dense MLA o_lat in {splits} key slices");
    }

    [SkippableFact]
    public void Bf16_cache_sparse_equals_dense_and_matches_reference()
    {
        RequireBackend();
        var random = NewRandom(41);
        int heads = 5;
        int latentDim = 64;
        int ropeDim = 16;
        int rowLength = latentDim + ropeDim;
        int cached = 3;
        int newTokens = 30;
        int[] positions = [cached, 16, 17, cached + newTokens - 1];
        float[] queries = RandomTensors.Normal(random, (long)positions.Length * heads * rowLength, 0.3f);
        float[] rows = RandomTensors.Normal(random, (long)newTokens * rowLength);
        float scale = MlaShapes.SoftmaxScale(32, ropeDim);

        // The cache holds 3 earlier tokens (left zero here) and the 30 new rows appended after them.
        using var rowBuffer = Upload(rows);
        using var cache = Allocate<ushort>((long)(cached + newTokens) * rowLength);
        StoreKvCacheBf16(V(rowBuffer), V(cache), newTokens, rowLength, cached);
        ushort[] cacheBits = Download(cache);
        AssertIdentical(rows.Select(Bf16.FromFloat).ToArray(), cacheBits.Skip(cached * rowLength).ToArray(), "bf16 latent cache rows");

        int[][] keys = MlaAttentionReference.CausalKeys(positions);
        int stride = cached + newTokens;
        var selected = new int[positions.Length * stride];
        for (int q = 0; q < positions.Length; q++)
        {
            keys[q].CopyTo(selected, q * stride);
        }
        using var qBuffer = Upload(queries);
        using var positionBuffer = Upload(positions);
        using var selectedBuffer = Upload(selected);
        using var countBuffer = Upload(keys.Select(k => k.Length).ToArray());
        using var dense = Allocate<float>((long)positions.Length * heads * latentDim);
        using var sparse = Allocate<float>((long)positions.Length * heads * latentDim);
        DenseMlaBf16Cache(V(qBuffer), V(cache), KeyPages.Contiguous(V(positionBuffer)), V(dense), positions.Length, heads, latentDim, ropeDim, scale);
        SparseMlaBf16Cache(V(qBuffer), V(cache), V(selectedBuffer), V(countBuffer), V(sparse), positions.Length, heads, latentDim, ropeDim, stride, scale);
        float[] denseOutput = Download(dense);
        AssertIdentical(denseOutput, Download(sparse), "bf16 cache: sparse over every visible key vs dense");
        double[] expected = MlaAttentionReference.Absorbed(queries, cacheBits.Select(Bf16.ToFloat).ToArray(), keys, heads, latentDim, ropeDim, scale);
        Tolerance.AssertClose(expected, denseOutput, AttentionTolerance, "dense MLA o_lat (bf16 cache)");
    }

    [SkippableTheory]
    [InlineData(false, 3)]
    [InlineData(true, 3)]
    [InlineData(true, 9)] // the host form's blocks of 4 queries per weight row: two whole blocks and one of 1
    public void Absorb_query_and_up_projection_match_reference(bool bf16Weights, int queryCount)
    {
        RequireBackend();
        var random = NewRandom(bf16Weights ? 31 : 32);
        int heads = 5;
        int nopeDim = 32;
        int ropeDim = 16;
        int valueDim = 24;
        int latentDim = 136; // > one group of 128 threads
        float[] q = RandomTensors.Normal(random, (long)queryCount * heads * (nopeDim + ropeDim));
        var (bits, weights) = RandomTensors.Bf16(random, (long)heads * (nopeDim + valueDim) * latentDim, 0.2f);
        float[] latentOutput = RandomTensors.Normal(random, (long)queryCount * heads * latentDim);
        using var qBuffer = Upload(q);
        using var wF32 = Upload(weights);
        using var wBf16 = Upload(bits);
        using var latentBuffer = Upload(latentOutput);
        using var queries = Allocate<float>((long)queryCount * heads * (latentDim + ropeDim));
        using var output = Allocate<float>((long)queryCount * heads * valueDim);
        object w = bf16Weights ? new Bf16Rows(V(wBf16)) : new F32Rows(V(wF32));
        AbsorbQuery(nameof(MlaKernels.AbsorbQuery), V(qBuffer), w, V(queries), queryCount, heads, nopeDim, ropeDim, valueDim, latentDim);
        UpProjectOutput(nameof(MlaKernels.UpProjectOutput), V(latentBuffer), w, V(output), queryCount, heads, nopeDim, valueDim, latentDim);
        Tolerance.AssertClose(MlaProjectionsReference.AbsorbQuery(q, weights, queryCount, heads, nopeDim, ropeDim, valueDim, latentDim),
            Download(queries), Tolerance.Fp32, "q_abs ‖ q_pe");
        Tolerance.AssertClose(MlaProjectionsReference.UpProjectOutput(latentOutput, weights, queryCount, heads, nopeDim, valueDim, latentDim),
            Download(output), Tolerance.Fp32, "o = o_lat·W_vᵀ");
    }
}

public sealed class MlaAttentionTests_FastCpu(FastCpuBackend b) : MlaAttentionTests(b), IClassFixture<FastCpuBackend>;
public sealed class MlaAttentionTests_IlgpuCpu(IlgpuCpuBackend b) : MlaAttentionTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class MlaAttentionTests_Cuda(CudaBackend b) : MlaAttentionTests(b), IClassFixture<CudaBackend>;
public sealed class MlaAttentionTests_OpenCL(OpenCLBackend b) : MlaAttentionTests(b), IClassFixture<OpenCLBackend>;

/// <summary>The same tests on <see cref="MlaKernels.MlaAttentionWarpHeads{TCache, TKeys}"/>, the layout GPUs run.</summary>
public abstract class MlaAttentionWarpHeadsTests(BackendFixture backend) : MlaAttentionTests(backend)
{
    protected override bool MlaWarpHeads => true;
}

public sealed class MlaAttentionWarpHeadsTests_FastCpu(FastCpuBackend b) : MlaAttentionWarpHeadsTests(b), IClassFixture<FastCpuBackend>;

/// <summary>
/// The warp-heads layout compiled by ILGPU (what CUDA runs) and run on ILGPU's CPU accelerator, in one case: that
/// accelerator emulates every warp shuffle with OS-thread barriers, so the whole suite on it took minutes. The suite
/// runs on FastCpu (the generated CPU path) and on CUDA.
/// </summary>
public sealed class MlaAttentionWarpHeadsTests_IlgpuCpu(IlgpuCpuBackend b) : SparseKernelTestBase(b), IClassFixture<IlgpuCpuBackend>
{
    protected override bool MlaWarpHeads => true;

    [SkippableFact]
    public void Real_width_split_key_attention_matches_reference()
    {
        RequireBackend();
        // 18 heads: a full head block and a second with one warp's pair
        CheckSplitKeyAttention(NewRandom(90), heads: 18, latentDim: 512, ropeDim: 64, cacheRows: 40, counts: [20, 0, 5], splits: 3, new Tolerance(2e-4, 2e-5));
    }
}

public sealed class MlaAttentionWarpHeadsTests_Cuda(CudaBackend b) : MlaAttentionWarpHeadsTests(b), IClassFixture<CudaBackend>;
public sealed class MlaAttentionWarpHeadsTests_OpenCL(OpenCLBackend b) : MlaAttentionWarpHeadsTests(b), IClassFixture<OpenCLBackend>;

/// <summary>The launch-time shape checks of the MLA kernels (no device needed).</summary>
public sealed class MlaShapesTests
{
    [Fact]
    public void Shape_limits_are_reported_in_one_line()
    {
        var error = Assert.Throws<ArgumentException>(() => MlaShapes.Validate(4, 1024, 64));
        Assert.Contains("kv_lora_rank", error.Message);
        Assert.DoesNotContain("\n", error.Message);
        Assert.Throws<ArgumentException>(() => MlaShapes.Validate(4, 64, 6));
    }
}
