using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Paging;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using KernelSharp.Kernels.Tests.Invariants;
using Xunit;

namespace KernelSharp.Kernels.Tests.Indexer;

/// <summary>
/// Lightning-indexer scores for the three key caches (<see cref="F32Rows"/>, <see cref="Bf16Rows"/>, <see cref="Fp8RowScaledRows"/>
/// written by the quantize kernel), through the per-pair kernel and the GPU-shaped one
/// (<see cref="IndexerKernels.IndexerScoresWarpKeys{TKeys}"/>), against the float64 reference, with causal masking, key
/// counts that are not multiples of the group, and a single query.
/// </summary>
public abstract class IndexerScoresTests(BackendFixture backend) : SparseKernelTestBase(backend)
{
    public static TheoryData<int, int, int, int, int> Shapes => new()
    {
        // queries S, keys T, heads H, dim D, group size
        { 5, 37, 4, 32, 128 },   // prefill of 5 tokens after 32 cached ones
        { 1, 130, 8, 32, 128 },  // decode: one query sees every key
        { 3, 9, 3, 20, 1 },      // one thread per pair; D not a multiple of 4 (scalar tail of the dot)
    };

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Fp32_keys_match_reference(int queryCount, int keyCount, int heads, int dim, int groupSize)
    {
        RequireBackend();
        var (queries, weights, keys, scale, causal) = Inputs(queryCount, keyCount, heads, dim, seed: 1);
        using var q = Upload(queries);
        using var w = Upload(weights);
        using var k = Upload(keys);
        using var scores = Allocate<float>((long)queryCount * keyCount);
        using var pages = Upload(causal);
        IndexerScores(V(q), V(w), new F32Rows(V(k)), V(scores), queryCount, keyCount, heads, dim, scale, pages.Pages, groupSize);
        double[] expected = IndexerScoresReference.Scores(queries, weights, keys, queryCount, keyCount, heads, dim, scale, causal);
        Tolerance.AssertClose(expected, Download(scores), Tolerance.Fp32, "indexer scores (fp32 keys)");
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Bf16_keys_written_by_the_cache_kernel_match_reference(int queryCount, int keyCount, int heads, int dim, int groupSize)
    {
        RequireBackend();
        var (queries, weights, keys, scale, causal) = Inputs(queryCount, keyCount, heads, dim, seed: 2);
        using var q = Upload(queries);
        using var w = Upload(weights);
        using var source = Upload(keys);
        using var cache = Allocate<ushort>((long)keyCount * dim);
        StoreIndexKeysBf16(V(source), V(cache), keyCount, dim, firstRow: 0);
        ushort[] cached = Download(cache);
        AssertIdentical(keys.Select(Bf16.FromFloat).ToArray(), cached, "bf16 key cache");

        using var scores = Allocate<float>((long)queryCount * keyCount);
        using var pages = Upload(causal);
        IndexerScores(V(q), V(w), new Bf16Rows(V(cache)), V(scores), queryCount, keyCount, heads, dim, scale, pages.Pages, groupSize);
        float[] rounded = cached.Select(Bf16.ToFloat).ToArray();
        double[] expected = IndexerScoresReference.Scores(queries, weights, rounded, queryCount, keyCount, heads, dim, scale, causal);
        Tolerance.AssertClose(expected, Download(scores), Tolerance.Fp32, "indexer scores (bf16 keys)");
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Fp8_keys_written_by_the_quantize_kernel_match_reference(int queryCount, int keyCount, int heads, int dim, int groupSize)
    {
        RequireBackend();
        var (queries, weights, keys, scale, causal) = Inputs(queryCount, keyCount, heads, dim, seed: 3);
        var (values, scales) = QuantizeOnDevice(keys, keyCount, dim);
        using var q = Upload(queries);
        using var w = Upload(weights);
        using var v = Upload(values);
        using var s = Upload(scales);
        using var scores = Allocate<float>((long)queryCount * keyCount);
        using var pages = Upload(causal);
        IndexerScores(V(q), V(w), new Fp8RowScaledRows(V(v), V(s)), V(scores), queryCount, keyCount, heads, dim, scale, pages.Pages, groupSize);
        float[] dequantized = IndexKeyCacheReference.DequantizeFp8(values, scales, keyCount, dim);
        double[] expected = IndexerScoresReference.Scores(queries, weights, dequantized, queryCount, keyCount, heads, dim, scale, causal);
        Tolerance.AssertClose(expected, Download(scores), Tolerance.Fp32, "indexer scores (fp8 keys)");
    }

    [SkippableTheory]
    [InlineData(5, 300, 64, 128, 295)]  // DeepSeek's 64 heads × 128: prefill of 5 tokens after 295 cached, 3 tiles
    [InlineData(4, 300, 40, 64, 0)]     // a fresh prompt: tiles 1 and 2 wholly past every query (only −∞)
    [InlineData(1, 130, 64, 128, 129)]  // decode: one query sees every key, the second tile ends after 2 keys
    [InlineData(3, 45, 7, 12, 20)]      // only the lower half-warps' heads; the limit falls mid-warp
    [InlineData(2, 40, 33, 100, -1)]    // query 0 sees nothing (its row is all −∞); one head in the upper half
    public void Fp32_warp_keys_kernel_matches_reference(int queryCount, int keyCount, int heads, int dim, int causalOffset)
    {
        RequireBackend();
        IndexerShapes.ValidateDecodeFp32(heads, dim);
        var (queries, weights, keys, scale, _) = Inputs(queryCount, keyCount, heads, dim, seed: 5);
        using var q = Upload(queries);
        using var w = Upload(weights);
        using var k = Upload(keys);
        float[] actual = WarpKeysScores(V(q), V(w), new F32Rows(V(k)), queryCount, keyCount, heads, dim, scale, KeyPagesReference.Causal(queryCount, causalOffset));
        double[] expected = IndexerScoresReference.Scores(queries, weights, keys, queryCount, keyCount, heads, dim, scale, KeyPagesReference.Causal(queryCount, causalOffset));
        Tolerance.AssertClose(expected, actual, Tolerance.Fp32, "indexer scores (fp32 keys, warp keys)");
    }

    [SkippableTheory]
    [InlineData(4, 300, 40, 64, 0)]     // a fresh prompt: tiles 1 and 2 wholly past every query (only −∞)
    [InlineData(3, 45, 7, 12, 20)]      // only the lower half-warps' heads; the limit falls mid-warp
    public void Bf16_warp_keys_kernel_matches_reference(int queryCount, int keyCount, int heads, int dim, int causalOffset)
    {
        RequireBackend();
        IndexerShapes.ValidateDecodeFp32(heads, dim);
        var (queries, weights, keys, scale, _) = Inputs(queryCount, keyCount, heads, dim, seed: 8);
        ushort[] bits = keys.Select(Bf16.FromFloat).ToArray();
        using var q = Upload(queries);
        using var w = Upload(weights);
        using var k = Upload(bits);
        float[] actual = WarpKeysScores(V(q), V(w), new Bf16Rows(V(k)), queryCount, keyCount, heads, dim, scale, KeyPagesReference.Causal(queryCount, causalOffset));
        float[] rounded = bits.Select(Bf16.ToFloat).ToArray();
        double[] expected = IndexerScoresReference.Scores(queries, weights, rounded, queryCount, keyCount, heads, dim, scale, KeyPagesReference.Causal(queryCount, causalOffset));
        Tolerance.AssertClose(expected, actual, Tolerance.Fp32, "indexer scores (bf16 keys, warp keys)");
    }

    [SkippableTheory]
    [InlineData(5, 300, 64, 128, 295)]  // DeepSeek's 64 heads × 128: prefill of 5 tokens after 295 cached, 3 tiles
    [InlineData(4, 300, 40, 64, 0)]     // a fresh prompt: tiles 1 and 2 wholly past every query (only −∞)
    [InlineData(2, 40, 33, 100, -1)]    // query 0 sees nothing; one head in the upper half, 25 words per key
    public void Fp8_warp_keys_kernel_matches_reference(int queryCount, int keyCount, int heads, int dim, int causalOffset)
    {
        RequireBackend();
        IndexerShapes.ValidateDecodeFp32(heads, dim);
        var (queries, weights, keys, scale, _) = Inputs(queryCount, keyCount, heads, dim, seed: 7);
        var (values, keyScales) = QuantizeOnDevice(keys, keyCount, dim);
        using var q = Upload(queries);
        using var w = Upload(weights);
        using var v = Upload(values);
        using var ks = Upload(keyScales);
        float[] actual = WarpKeysScores(V(q), V(w), new Fp8RowScaledRows(V(v), V(ks)), queryCount, keyCount, heads, dim, scale, KeyPagesReference.Causal(queryCount, causalOffset));
        float[] dequantized = IndexKeyCacheReference.DequantizeFp8(values, keyScales, keyCount, dim);
        double[] expected = IndexerScoresReference.Scores(queries, weights, dequantized, queryCount, keyCount, heads, dim, scale, KeyPagesReference.Causal(queryCount, causalOffset));
        Tolerance.AssertClose(expected, actual, Tolerance.Fp32, "indexer scores (fp8 keys, warp keys)");
    }

    /// <summary>
    /// A paged key pool (<see cref="ScatteredPages"/>): each query row reads its own sequence's blocks through its block
    /// table, up to its own position; later columns of a shorter row are −∞. Both kernels, fp32 and fp8 keys.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(ScatteredPages.Cases), MemberType = typeof(ScatteredPages))]
    public void Paged_keys_match_reference(int pagesCase)
    {
        RequireBackend();
        const int heads = 40, dim = 64;
        var hostPages = ScatteredPages.Case(pagesCase);
        int queryCount = hostPages.Rows;
        int keyCount = hostPages.Positions.Max() + 1;
        var (queries, weights, pool, scale, _) = Inputs(queryCount, ScatteredPages.PoolRows, heads, dim, seed: 9 + pagesCase);
        using var q = Upload(queries);
        using var w = Upload(weights);
        using var k = Upload(pool);
        double[] expected = IndexerScoresReference.Scores(queries, weights, pool, queryCount, keyCount, heads, dim, scale, hostPages);
        foreach (int groupSize in new[] { 128, 1 })
        {
            using var pages = Upload(hostPages);
            using var scores = Allocate<float>((long)queryCount * keyCount);
            IndexerScores(V(q), V(w), new F32Rows(V(k)), V(scores), queryCount, keyCount, heads, dim, scale, pages.Pages, groupSize);
            Tolerance.AssertClose(expected, Download(scores), Tolerance.Fp32, $"paged indexer scores (fp32 keys, group {groupSize})");
        }
        float[] warpKeys = WarpKeysScores(V(q), V(w), new F32Rows(V(k)), queryCount, keyCount, heads, dim, scale, hostPages);
        Tolerance.AssertClose(expected, warpKeys, Tolerance.Fp32, "paged indexer scores (fp32 keys, warp keys)");

        var (values, keyScales) = QuantizeOnDevice(pool, ScatteredPages.PoolRows, dim);
        using var v = Upload(values);
        using var ks = Upload(keyScales);
        float[] dequantized = IndexKeyCacheReference.DequantizeFp8(values, keyScales, ScatteredPages.PoolRows, dim);
        float[] fp8 = WarpKeysScores(V(q), V(w), new Fp8RowScaledRows(V(v), V(ks)), queryCount, keyCount, heads, dim, scale, hostPages);
        Tolerance.AssertClose(IndexerScoresReference.Scores(queries, weights, dequantized, queryCount, keyCount, heads, dim, scale, hostPages),
            fp8, Tolerance.Fp32, "paged indexer scores (fp8 keys, warp keys)");
    }

    /// <summary>
    /// The warp-keys kernel's scores [S, T] over <paramref name="keys"/>, launched with its fixed geometry; the output has
    /// one spare entry past the last score, which must still hold its NaN afterwards.
    /// </summary>
    private float[] WarpKeysScores<TKeys>(ArrayView<float> queries, ArrayView<float> weights, TKeys keys,
        int queryCount, int keyCount, int heads, int dim, float scale, KeyPagesReference hostPages)
        where TKeys : struct, IRowFormat<TKeys>
    {
        using var pages = Upload(hostPages);
        using var scores = Allocate<float>((long)queryCount * keyCount + 1);
        scores.View.CopyFromCPU(Enumerable.Repeat(float.NaN, queryCount * keyCount + 1).ToArray());
        Launch(typeof(IndexerKernels).GetMethod(nameof(IndexerKernels.IndexerScoresWarpKeys))!,
            Config(queryCount, (keyCount + IndexerWarpKeys.GroupKeys - 1) / IndexerWarpKeys.GroupKeys, IndexerWarpKeys.Threads),
            queries, weights, keys, scores.View, queryCount, keyCount, heads, dim, scale, pages.Pages);
        float[] actual = Download(scores);
        Assert.True(float.IsNaN(actual[queryCount * keyCount]), $"the warp-keys kernel ({typeof(TKeys).Name}) wrote past the last score");
        return actual.Take(queryCount * keyCount).ToArray();
    }

    [SkippableTheory]
    [InlineData(33, 8, 32)]     // keys not a multiple of a group's 32
    [InlineData(40, 64, 128)]   // DeepSeek-V3.2's index heads and dim
    [InlineData(1, 3, 16)]      // a single cached key, fewer heads than lanes
    public void Fp8_decode_kernel_matches_reference(int keyCount, int heads, int dim)
    {
        RequireBackend();
        var (queries, weights, keys, scale, _) = Inputs(1, keyCount, heads, dim, seed: 4);
        var (values, scales) = QuantizeOnDevice(keys, keyCount, dim);
        using var q = Upload(queries);
        using var w = Upload(weights);
        using var v = Upload(values);
        using var s = Upload(scales);
        using var scores = Allocate<float>(keyCount);
        IndexerDecodeFp8(V(q), V(w), V(v), V(s), V(scores), keyCount, heads, dim, scale);
        float[] dequantized = IndexKeyCacheReference.DequantizeFp8(values, scales, keyCount, dim);
        double[] expected = IndexerScoresReference.Scores(queries, weights, dequantized, 1, keyCount, heads, dim, scale, KeyPagesReference.Causal(1, keyCount - 1));
        Tolerance.AssertClose(expected, Download(scores), Tolerance.Fp32, "indexer decode scores (fp8 keys)");
    }

    [SkippableTheory]
    [InlineData(5, 128, 32, 3)]   // after 3 cached rows, in reverse order with a gap between rows (a paged pool's scatter)
    [InlineData(2, 20, 1, 0)]     // group of one thread
    public void Quantize_kernel_matches_reference_bytes_and_scales(int tokenCount, int dim, int groupSize, int firstRow)
    {
        RequireBackend();
        var random = NewRandom(6);
        float[] keys = RandomTensors.Normal(random, (long)tokenCount * dim, 2f);
        Array.Fill(keys, 0f, 0, dim); // an all-zero key takes scale 1
        int cacheRows = firstRow + 2 * tokenCount;
        int[] rows = Enumerable.Range(0, tokenCount).Select(n => firstRow + 2 * (tokenCount - 1 - n)).ToArray(); // [N] every other row, last token first
        using var source = Upload(keys);
        using var destinationRows = Upload(rows);
        using var values = Allocate<byte>((long)cacheRows * dim);
        using var scales = Allocate<float>(cacheRows);
        QuantizeIndexKeysFp8(V(source), V(values), V(scales), V(destinationRows), tokenCount, dim, groupSize);
        var (expectedValues, expectedScales) = IndexKeyCacheReference.QuantizeFp8Into(keys, tokenCount, dim, rows, cacheRows);
        AssertIdentical(expectedValues, Download(values), "fp8 key values");
        AssertIdentical(expectedScales, Download(scales), "fp8 key scales (rows not written stay 0)");
        Assert.Equal(1f, expectedScales[rows[0]]);
        Assert.Equal(0f, expectedScales[rows[0] + 1]);
        Assert.Equal(132, IndexKeyCache.Fp8BytesPerToken(128));
    }

    private (byte[] Values, float[] Scales) QuantizeOnDevice(float[] keys, int keyCount, int dim)
    {
        using var source = Upload(keys);
        using var rows = Upload(Enumerable.Range(0, keyCount).ToArray()); // key n in cache row n
        using var values = Allocate<byte>((long)keyCount * dim);
        using var scales = Allocate<float>(keyCount);
        QuantizeIndexKeysFp8(V(source), V(values), V(scales), V(rows), keyCount, dim, 32);
        return (Download(values), Download(scales));
    }

    /// <summary>Random queries [S,H,D], head weights [S,H] (both signs: the sum can be negative), keys [T,D].</summary>
    private static (float[] Queries, float[] Weights, float[] Keys, float Scale, KeyPagesReference Causal) Inputs(
        int queryCount, int keyCount, int heads, int dim, int seed)
    {
        var random = new Random(seed * 7919 + queryCount * 31 + keyCount);
        float[] queries = RandomTensors.Normal(random, (long)queryCount * heads * dim);
        float[] weights = RandomTensors.Uniform(random, (long)queryCount * heads, 1f / MathF.Sqrt(heads));
        float[] keys = RandomTensors.Normal(random, (long)keyCount * dim);
        return (queries, weights, keys, 1f / MathF.Sqrt(dim), KeyPagesReference.Causal(queryCount, keyCount - queryCount));
    }
}

public sealed class IndexerScoresTests_FastCpu(FastCpuBackend b) : IndexerScoresTests(b), IClassFixture<FastCpuBackend>;
public sealed class IndexerScoresTests_IlgpuCpu(IlgpuCpuBackend b) : IndexerScoresTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class IndexerScoresTests_Cuda(CudaBackend b) : IndexerScoresTests(b), IClassFixture<CudaBackend>;
public sealed class IndexerScoresTests_OpenCL(OpenCLBackend b) : IndexerScoresTests(b), IClassFixture<OpenCLBackend>;

/// <summary>The indexer's launch-time shape checks (no device needed).</summary>
public sealed class IndexerShapesTests
{
    [Fact]
    public void Decode_limits_are_reported_in_one_line()
    {
        var error = Assert.Throws<ArgumentException>(() => IndexerShapes.ValidateDecode(heads: 65, dim: 128));
        Assert.Contains("index_n_heads", error.Message);
        Assert.DoesNotContain("\n", error.Message);
        Assert.Throws<ArgumentException>(() => IndexerShapes.ValidateDecode(64, 129));
    }

    [Fact]
    public void Fp32_decode_limits_are_reported_in_one_line()
    {
        var error = Assert.Throws<ArgumentException>(() => IndexerShapes.ValidateDecodeFp32(heads: 64, dim: 126));
        Assert.Contains("multiple of 4", error.Message);
        Assert.DoesNotContain("\n", error.Message);
        Assert.Throws<ArgumentException>(() => IndexerShapes.ValidateDecodeFp32(65, 128));
    }
}
