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
/// The FP8 latent cache (<see cref="Fp8LatentRows"/>, written by <see cref="MlaKernels.StoreKvCacheFp8"/>): the store
/// agrees byte for byte with its reference, values come back within e4m3 / bf16 rounding, and the MLA kernels read it
/// directly with the same results as on the dequantized rows.
/// </summary>
public abstract class StoreKvCacheFp8Tests(BackendFixture backend) : SparseKernelTestBase(backend)
{
    private static readonly Tolerance AttentionTolerance = new(2e-4, 2e-5);

    [Fact]
    public void Row_is_656_bytes_at_deepseek_widths()
    {
        Assert.Equal(656, Fp8LatentRows.RowBytes(512, 64));
        Assert.Equal(512, Fp8LatentRows.ScaleOffset(512));
        Assert.Equal(528, Fp8LatentRows.RopeOffset(512));
        Assert.Equal(112, Fp8LatentRows.RowBytes(64, 16)); // tiny fixtures: one (partial) scale block, padded to 16 bytes
    }

    [SkippableTheory]
    [InlineData(512, 64, 5, 3)]    // DeepSeek-V3.2: 4 scale blocks, 656 B rows
    [InlineData(64, 16, 7, 0)]     // the tiny fixtures' widths: one partial block
    [InlineData(272, 8, 3, 2)]     // a partial last block after two full ones
    public void Store_matches_reference(int latentDim, int ropeDim, int tokenCount, int firstRow)
    {
        RequireBackend();
        var random = NewRandom(latentDim + tokenCount);
        int rowLength = latentDim + ropeDim;
        int rowBytes = Fp8LatentRows.RowBytes(latentDim, ropeDim);
        float[] rows = RandomTensors.Normal(random, (long)tokenCount * rowLength);
        Array.Clear(rows, rowLength, rowLength); // token 1 all zero: scale 1, zero codes
        for (int i = 0; i < latentDim; i += 7)
        {
            rows[i] *= 1000f; // token 0: a wide range within a block, small values round to subnormals or 0
        }
        using var values = Upload(rows);
        using var cache = Allocate<byte>((long)(firstRow + tokenCount) * rowBytes);
        using var cacheRows = Upload(Enumerable.Range(firstRow, tokenCount).ToArray());
        StoreKvCacheFp8(V(values), V(cache), V(cacheRows), tokenCount, rowLength, 0, latentDim, ropeDim);
        byte[] stored = Download(cache);

        byte[] expected = StoreKvCacheFp8Reference.Quantize(rows, tokenCount, latentDim, ropeDim);
        AssertIdentical(new byte[firstRow * rowBytes], stored[..(firstRow * rowBytes)], "rows before firstRow stay untouched");
        AssertIdentical(expected, stored[(firstRow * rowBytes)..], "FP8 latent cache rows");
        Assert.Equal(1f, BitConverter.ToSingle(expected, rowBytes + Fp8LatentRows.ScaleOffset(latentDim)));
    }

    /// <summary>Tokens stored into scattered rows of a paged pool, out of order, c and k_pe as separate stores: each lands
    /// in its own row, the rows between stay untouched.</summary>
    [SkippableFact]
    public void Store_into_scattered_pool_rows_matches_reference()
    {
        RequireBackend();
        var random = NewRandom(31);
        int latentDim = 272;
        int ropeDim = 8;
        int rowLength = latentDim + ropeDim;
        int rowBytes = Fp8LatentRows.RowBytes(latentDim, ropeDim);
        int[] destination = [9, 2, 7, 3, 10]; // blocks of 4: the middle of block 2, block 0, the end of block 1, ...
        int tokenCount = destination.Length;
        float[] rows = RandomTensors.Normal(random, (long)tokenCount * rowLength);
        float[] latent = Enumerable.Range(0, tokenCount).SelectMany(t => rows.Skip(t * rowLength).Take(latentDim)).ToArray();
        float[] rope = Enumerable.Range(0, tokenCount).SelectMany(t => rows.Skip(t * rowLength + latentDim).Take(ropeDim)).ToArray();
        using var latentValues = Upload(latent);
        using var ropeValues = Upload(rope);
        using var cacheRows = Upload(destination);
        using var cache = Allocate<byte>(12L * rowBytes);
        StoreKvCacheFp8(V(latentValues), V(cache), V(cacheRows), tokenCount, latentDim, 0, latentDim, ropeDim);
        StoreKvCacheFp8(V(ropeValues), V(cache), V(cacheRows), tokenCount, ropeDim, latentDim, latentDim, ropeDim);
        var expected = new byte[12 * rowBytes];
        StoreKvCacheFp8Reference.Store(expected, rows, destination, latentDim, ropeDim);
        AssertIdentical(expected, Download(cache), "FP8 latent rows scattered over the pool");
    }

    [SkippableFact]
    public void Latent_then_rope_stores_equal_one_whole_row_store()
    {
        RequireBackend();
        var random = NewRandom(77);
        int latentDim = 512;
        int ropeDim = 64;
        int tokenCount = 4;
        int rowLength = latentDim + ropeDim;
        int rowBytes = Fp8LatentRows.RowBytes(latentDim, ropeDim);
        float[] rows = RandomTensors.Normal(random, (long)tokenCount * rowLength);
        float[] latent = Enumerable.Range(0, tokenCount).SelectMany(t => rows.Skip(t * rowLength).Take(latentDim)).ToArray();
        float[] rope = Enumerable.Range(0, tokenCount).SelectMany(t => rows.Skip(t * rowLength + latentDim).Take(ropeDim)).ToArray();
        using var latentValues = Upload(latent);
        using var ropeValues = Upload(rope);
        using var cache = Allocate<byte>((long)tokenCount * rowBytes);
        using var cacheRows = Upload(Enumerable.Range(0, tokenCount).ToArray());
        StoreKvCacheFp8(V(latentValues), V(cache), V(cacheRows), tokenCount, latentDim, 0, latentDim, ropeDim);
        StoreKvCacheFp8(V(ropeValues), V(cache), V(cacheRows), tokenCount, ropeDim, latentDim, latentDim, ropeDim);
        AssertIdentical(StoreKvCacheFp8Reference.Quantize(rows, tokenCount, latentDim, ropeDim), Download(cache), "c and k_pe stored separately");
    }

    /// <summary>
    /// e4m3 keeps 3 mantissa bits: a normal value is off by at most 2^-4 of itself, a subnormal one (below 2^-6 in
    /// scale units) by at most half its step 2^-9, i.e. 2^-10·scale; the largest value of a block lands on 448 exactly.
    /// bf16 keeps 7: rope values are off by at most 2^-8 of themselves.
    /// </summary>
    [SkippableFact]
    public void Round_trip_error_is_within_e4m3_and_bf16_rounding()
    {
        RequireBackend();
        var random = NewRandom(5);
        int latentDim = 512;
        int ropeDim = 64;
        int tokenCount = 16;
        int rowLength = latentDim + ropeDim;
        float[] rows = RandomTensors.Normal(random, (long)tokenCount * rowLength);
        using var values = Upload(rows);
        using var cache = Allocate<byte>((long)tokenCount * Fp8LatentRows.RowBytes(latentDim, ropeDim));
        using var cacheRows = Upload(Enumerable.Range(0, tokenCount).ToArray());
        StoreKvCacheFp8(V(values), V(cache), V(cacheRows), tokenCount, rowLength, 0, latentDim, ropeDim);
        float[] back = StoreKvCacheFp8Reference.Dequantize(Download(cache), tokenCount, latentDim, ropeDim);

        double worstLatent = 0;
        for (int t = 0; t < tokenCount; t++)
        {
            for (int block = 0; block < latentDim / Fp8LatentRows.Block; block++)
            {
                long start = (long)t * rowLength + block * Fp8LatentRows.Block;
                float amax = 0f;
                for (int i = 0; i < Fp8LatentRows.Block; i++)
                {
                    amax = Math.Max(amax, Math.Abs(rows[start + i]));
                }
                double scale = amax / 448.0;
                for (int i = 0; i < Fp8LatentRows.Block; i++)
                {
                    double x = rows[start + i];
                    double error = Math.Abs(back[start + i] - x);
                    double bound = (Math.Pow(2, -4) * Math.Abs(x)) + (Math.Pow(2, -10) * scale) + 1e-7 * Math.Abs(x);
                    Assert.True(error <= bound, $"token {t} latent {block * Fp8LatentRows.Block + i}: {x} came back as {back[start + i]}");
                    worstLatent = Math.Max(worstLatent, error / amax);
                }
            }
            for (int i = 0; i < ropeDim; i++)
            {
                long at = (long)t * rowLength + latentDim + i;
                Assert.True(Math.Abs(back[at] - rows[at]) <= Math.Pow(2, -8) * Math.Abs(rows[at]), $"token {t} rope {i}: {rows[at]} came back as {back[at]}");
            }
        }
        Assert.True(worstLatent > 0, "e4m3 rounding must show in random data (the test would not see a lossless store)");
    }

    [SkippableFact]
    public void Attention_reads_the_fp8_cache_directly()
    {
        RequireBackend();
        var random = NewRandom(43);
        int heads = 10;
        int latentDim = 512;
        int ropeDim = 64;
        int rowLength = latentDim + ropeDim;
        int cacheRows = 40;
        int[] positions = [0, 16, 17, cacheRows - 1];
        float[] queries = RandomTensors.Normal(random, (long)positions.Length * heads * rowLength, 0.3f);
        float[] rows = RandomTensors.Normal(random, (long)cacheRows * rowLength);
        float scale = MlaShapes.SoftmaxScale(128, ropeDim);

        using var rowBuffer = Upload(rows);
        using var cache = Allocate<byte>((long)cacheRows * Fp8LatentRows.RowBytes(latentDim, ropeDim));
        using var rowsInOrder = Upload(Enumerable.Range(0, cacheRows).ToArray());
        StoreKvCacheFp8(V(rowBuffer), V(cache), V(rowsInOrder), cacheRows, rowLength, 0, latentDim, ropeDim);
        float[] dequantized = StoreKvCacheFp8Reference.Dequantize(Download(cache), cacheRows, latentDim, ropeDim);
        var fp8 = new Fp8LatentRows(V(cache), latentDim);

        int[][] keys = MlaAttentionReference.CausalKeys(positions);
        var selected = new int[positions.Length * cacheRows];
        for (int q = 0; q < positions.Length; q++)
        {
            keys[q].CopyTo(selected, q * cacheRows);
        }
        int[] counts = keys.Select(k => k.Length).ToArray();
        using var qBuffer = Upload(queries);
        using var positionBuffer = Upload(positions);
        using var selectedBuffer = Upload(selected);
        using var countBuffer = Upload(counts);
        using var dense = Allocate<float>((long)positions.Length * heads * latentDim);
        using var sparse = Allocate<float>((long)positions.Length * heads * latentDim);
        DenseMlaOver(V(qBuffer), fp8, KeyPages.Contiguous(V(positionBuffer)), V(dense), positions.Length, heads, latentDim, ropeDim, scale);
        SparseMlaOver(V(qBuffer), fp8, V(selectedBuffer), V(countBuffer), V(sparse), positions.Length, heads, latentDim, ropeDim, cacheRows, scale);
        float[] denseOutput = Download(dense);
        AssertIdentical(denseOutput, Download(sparse), "FP8 cache: sparse over every visible key vs dense");
        double[] expected = MlaAttentionReference.Absorbed(queries, dequantized, keys, heads, latentDim, ropeDim, scale);
        Tolerance.AssertClose(expected, denseOutput, AttentionTolerance, "dense MLA o_lat (FP8 cache)");

        int splits = 3;
        using var partialOutput = Allocate<float>((long)positions.Length * splits * heads * latentDim);
        using var partialStats = Allocate<float>((long)positions.Length * splits * heads * 2);
        using var combined = Allocate<float>((long)positions.Length * heads * latentDim);
        SparseMlaSplitOver(V(qBuffer), fp8, V(selectedBuffer), V(countBuffer), V(partialOutput), V(partialStats),
            positions.Length, heads, latentDim, ropeDim, cacheRows, splits, scale);
        CombineMlaSplits(V(partialOutput), V(partialStats), V(combined), positions.Length, heads, latentDim, splits);
        Tolerance.AssertClose(expected, Download(combined), AttentionTolerance, "split-key sparse MLA o_lat (FP8 cache)");
    }

    /// <summary>The format's readers on the host (what the generated CPU path and ILGPU's CPU accelerator call) agree with
    /// the reference's byte-by-byte reading: every element, every 4-value read, and the row dot products.</summary>
    [SkippableFact]
    public void Format_members_read_what_the_reference_reads()
    {
        RequireBackend();
        Skip.If(Backend.Backend == TestBackend.Cuda, "the format's members are called on the host here, and CUDA memory is not host memory");
        var random = NewRandom(9);
        int latentDim = 64;
        int ropeDim = 20; // not a multiple of 8: the rope dot's scalar tail
        int rowLength = latentDim + ropeDim;
        int tokenCount = 3;
        float[] rows = RandomTensors.Normal(random, (long)tokenCount * rowLength);
        byte[] bytes = StoreKvCacheFp8Reference.Quantize(rows, tokenCount, latentDim, ropeDim);
        float[] expected = StoreKvCacheFp8Reference.Dequantize(bytes, tokenCount, latentDim, ropeDim);
        float[] x = RandomTensors.Normal(random, rowLength);
        using var cache = Upload(bytes);
        using var xBuffer = Upload(x);
        var format = new Fp8LatentRows(V(cache), latentDim);
        for (int t = 0; t < tokenCount; t++)
        {
            double dot = 0;
            for (int i = 0; i < rowLength; i++)
            {
                Assert.Equal(expected[t * rowLength + i], format.Element(t, rowLength, i));
                dot += (double)expected[t * rowLength + i] * x[i];
            }
            for (int i = 0; i < rowLength; i += 4)
            {
                Float4 four = format.Elements4(t, rowLength, i);
                Assert.Equal(expected.AsSpan(t * rowLength + i, 4).ToArray(), new[] { four.X, four.Y, four.Z, four.W });
            }
            Tolerance.AssertClose([dot], [format.RowDot(t, rowLength, V(xBuffer), 0)], Tolerance.Fp32, $"RowDot of row {t}");
            Tolerance.AssertClose([dot], [format.RowDotCpu(t, rowLength, V(xBuffer), 0)], Tolerance.Fp32, $"RowDotCpu of row {t}");
            float lanes = 0f;
            for (int lane = 0; lane < 5; lane++)
            {
                lanes += format.StridedRowDot(t, rowLength, V(xBuffer), 0, lane, 5);
            }
            Tolerance.AssertClose([dot], [lanes], Tolerance.Fp32, $"StridedRowDot over 5 lanes of row {t}");
        }
    }
}

public sealed class StoreKvCacheFp8Tests_FastCpu(FastCpuBackend b) : StoreKvCacheFp8Tests(b), IClassFixture<FastCpuBackend>;
public sealed class StoreKvCacheFp8Tests_IlgpuCpu(IlgpuCpuBackend b) : StoreKvCacheFp8Tests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class StoreKvCacheFp8Tests_Cuda(CudaBackend b) : StoreKvCacheFp8Tests(b), IClassFixture<CudaBackend>;

/// <summary>The same tests with the MLA helpers on <see cref="MlaKernels.MlaAttentionWarpHeads{TCache, TKeys}"/> (the layout GPUs
/// run), on FastCpu and CUDA (ILGPU's CPU accelerator emulates its shuffles too slowly for the whole class).</summary>
public abstract class StoreKvCacheFp8WarpHeadsTests(BackendFixture backend) : StoreKvCacheFp8Tests(backend)
{
    protected override bool MlaWarpHeads => true;
}

public sealed class StoreKvCacheFp8WarpHeadsTests_FastCpu(FastCpuBackend b) : StoreKvCacheFp8WarpHeadsTests(b), IClassFixture<FastCpuBackend>;
public sealed class StoreKvCacheFp8WarpHeadsTests_Cuda(CudaBackend b) : StoreKvCacheFp8WarpHeadsTests(b), IClassFixture<CudaBackend>;
