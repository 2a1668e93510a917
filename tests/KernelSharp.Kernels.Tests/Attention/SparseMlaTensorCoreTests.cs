using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Attention;

/// <summary>
/// Tensor-core sparse MLA (<see cref="MlaTensorCoreKernels.SparseMlaTensorCore"/>) against the float64 reference on
/// the same bf16-rounded queries and bf16 cache, fresh random inputs: partial 32-key tiles, a partial head block,
/// a query with no key, unsorted repeated indices, and key splits merged by CombineMlaSplits. Outputs start as NaN,
/// so an element the kernel forgets fails. The kernel rounds P to bf16 for the mma: tolerance 1e-2 relative.
/// The ILGPU CPU accelerator emulates every lane of every mma, so it runs one small shape.
/// </summary>
public abstract class SparseMlaTensorCoreTests(BackendFixture backend) : BackendTestBase(backend)
{
    private const int Row = MlaTensorCoreTile.RowLength;
    private const int Latent = MlaTensorCoreTile.LatentDim;
    private static readonly Tolerance Bf16Attention = new(1e-2, 1e-3);

    /// <summary>Whether this backend runs a case (the ILGPU CPU accelerator takes only the smallest).</summary>
    protected virtual bool RunsLargeCases => true;

    [SkippableFact]
    public void One_query_two_tiles_matches_reference()
    {
        RequireBackend();
        RunCase(seed: 11, heads: 16, cacheTokens: 60, counts: [40], splits: 1);
    }

    [SkippableFact]
    public void Partial_head_block_partial_tiles_and_an_empty_query_match_reference()
    {
        RequireBackend();
        Skip.IfNot(RunsLargeCases, $"too slow on {Backend}; FastCpu and CUDA cover it");
        RunCase(seed: 12, heads: 20, cacheTokens: 150, counts: [96, 83, 0], splits: 1);
    }

    [SkippableFact]
    public void Key_splits_merged_by_combine_match_reference()
    {
        RequireBackend();
        Skip.IfNot(RunsLargeCases, $"too slow on {Backend}; FastCpu and CUDA cover it");
        // 5 tiles over 3 splits: slices of 2, 2 and 1 tiles, the last partial; the short query leaves a slice empty.
        RunCase(seed: 13, heads: 16, cacheTokens: 300, counts: [150, 40], splits: 3);
    }

    [SkippableFact]
    public void Large_scores_stay_finite_and_match_reference()
    {
        RequireBackend();
        Skip.IfNot(RunsLargeCases, $"too slow on {Backend}; FastCpu and CUDA cover it");
        // Scores of tens (a peaked softmax): the running max must rescale earlier tiles without overflow.
        RunCase(seed: 14, heads: 16, cacheTokens: 100, counts: [100], splits: 2, queryScale: 40f);
    }

    private void RunCase(int seed, int heads, int cacheTokens, int[] counts, int splits, float queryScale = 3f)
    {
        var random = NewRandom(seed);
        int queryCount = counts.Length;
        int stride = counts.Max() + 3; // a row stride wider than any count: the tail must be ignored
        float[] queries = RandomTensors.Uniform(random, (long)queryCount * heads * Row, queryScale); // [Q, H, 576]
        var (cache, _) = RandomTensors.Bf16(random, (long)cacheTokens * Row);                       // [Tc, 576]
        int[] selected = RandomTensors.Indices(random, queryCount * stride, cacheTokens);            // [Q, stride], repeats allowed
        int[][] keys = Enumerable.Range(0, queryCount).Select(q => selected.AsSpan(q * stride, counts[q]).ToArray()).ToArray();
        float scale = MlaShapes.SoftmaxScale(Latent, MlaTensorCoreTile.RopeDim);
        double[] expected = SparseMlaTensorCoreReference.Compute(queries, cache, keys, heads, scale);

        using var qv = Upload(queries);
        using var cv = Upload(cache);
        using var sv = Upload(selected);
        using var nv = Upload(counts);
        using var ov = Upload(Poison((long)queryCount * heads * Latent));
        var (partialLength, statsLength) = SparseMlaTensorCorePlan.PartialLengths(queryCount, heads, splits);
        using var pv = Upload(Poison(partialLength));
        using var tv = Upload(Poison(statsLength));
        int headBlocks = (heads + MlaTensorCoreTile.HeadsPerGroup - 1) / MlaTensorCoreTile.HeadsPerGroup;
        var kernel = typeof(MlaTensorCoreKernels).GetMethod(nameof(MlaTensorCoreKernels.SparseMlaTensorCore))!;
        if (splits == 1)
        {
            Launch(kernel, Config(headBlocks * splits, queryCount, MlaTensorCoreTile.Threads),
                qv.View, cv.View, sv.View, nv.View, ov.View, tv.View, queryCount, heads, stride, splits, scale);
        }
        else
        {
            Launch(kernel, Config(headBlocks * splits, queryCount, MlaTensorCoreTile.Threads),
                qv.View, cv.View, sv.View, nv.View, pv.View, tv.View, queryCount, heads, stride, splits, scale);
            Launch(typeof(MlaKernels).GetMethod(nameof(MlaKernels.CombineMlaSplits))!, Config(queryCount * heads, (Latent + 127) / 128, 128),
                pv.View, tv.View, ov.View, queryCount, heads, Latent, splits);
        }
        Accelerator.Synchronize();

        Tolerance.AssertClose(expected, Download(ov, (long)queryCount * heads * Latent), Bf16Attention, $"tensor-core sparse MLA o_lat ({splits} splits)");
    }

    private static float[] Poison(long count) => Enumerable.Repeat(float.NaN, (int)Math.Max(1, count)).ToArray();
}

/// <summary>Host-side planning of the tensor-core kernel: shape checks and key splits.</summary>
public sealed class SparseMlaTensorCorePlanTests
{
    [Theory]
    [InlineData(1, 128, 2048, 132, 22)]   // 8 head blocks: 176 groups (one wave) of 3 tiles each, plus the combine
    [InlineData(8, 128, 2048, 132, 6)]    // 384 groups: one wave of 11 tiles
    [InlineData(64, 128, 2048, 132, 2)]   // 512 groups are 1.3 waves: 2 slices make 2.6 (3 waves of half the tiles)
    [InlineData(1, 128, 40, 132, 1)]      // 2 tiles: a combine costs more than it saves
    [InlineData(1, 16, 2048, 132, 64)]    // one group: capped at MaxSplits
    [InlineData(3, 128, 0, 132, 1)]       // no keys: one slice
    public void Splits_fill_the_gpu_within_limits(int queries, int heads, int selected, int multiprocessors, int expected)
        => Assert.Equal(expected, SparseMlaTensorCorePlan.Splits(queries, heads, selected, multiprocessors));

    [Fact]
    public void Shared_tiles_fit_the_48_kb_static_limit()
    {
        int bytes = MlaTensorCoreTile.KeysPerTile * MlaTensorCoreTile.TileStride * sizeof(ushort)
            + MlaTensorCoreTile.Warps * MlaTensorCoreTile.ScoreSliceLength * sizeof(float);
        Assert.InRange(bytes, 1, 48 * 1024);
        Assert.Equal(0, MlaTensorCoreTile.TileStride * sizeof(ushort) % 16); // cp.async / ldmatrix rows on 16 bytes
    }

    [Fact]
    public void Launch_with_splits_matches_reference_and_rejects_small_slice_buffers()
    {
        const int heads = 16, queryCount = 2, cacheTokens = 120, count = 100, splits = 3;
        const int row = MlaTensorCoreTile.RowLength, latent = MlaTensorCoreTile.LatentDim;
        var random = new Random(77);
        float[] queries = RandomTensors.Uniform(random, (long)queryCount * heads * row, 3f); // [Q, H, 576]
        var (cache, _) = RandomTensors.Bf16(random, (long)cacheTokens * row);              // [Tc, 576]
        int[] selected = RandomTensors.Indices(random, queryCount * count, cacheTokens);   // [Q, 100]
        int[][] keys = [selected[..count], selected[count..]];
        float scale = MlaShapes.SoftmaxScale(latent, MlaTensorCoreTile.RopeDim);
        double[] expected = SparseMlaTensorCoreReference.Compute(queries, cache, keys, heads, scale);

        using var device = KernelSharp.Dsl.Launch.KernelDevice.Create(KernelSharp.Dsl.Launch.KernelBackend.FastCpu);
        using var qv = device.Allocate<float>(queries.Length);
        using var cv = device.Allocate<ushort>(cache.Length);
        using var sv = device.Allocate<int>(selected.Length);
        using var nv = device.Allocate<int>(queryCount);
        using var ov = device.Allocate<float>((long)queryCount * heads * latent);
        var (partialLength, statsLength) = SparseMlaTensorCorePlan.PartialLengths(queryCount, heads, splits);
        using var pv = device.Allocate<float>(partialLength);
        using var tv = device.Allocate<float>(statsLength);
        qv.CopyFromCPU(queries);
        cv.CopyFromCPU(cache);
        sv.CopyFromCPU(selected);
        nv.CopyFromCPU(new[] { count, count });
        SparseMlaTensorCorePlan.Launch(device, qv.View, cv.View, sv.View, nv.View, ov.View, pv.View, tv.View, queryCount, heads, count, splits, scale);
        device.Synchronize();
        var actual = new float[ov.Length];
        ov.CopyToCPU(actual);
        Tolerance.AssertClose(expected, actual, new Tolerance(1e-2, 1e-3), "tensor-core sparse MLA through the plan's launch");

        var error = Assert.Throws<ArgumentException>(() => SparseMlaTensorCorePlan.Launch(device, qv.View, cv.View, sv.View, nv.View, ov.View,
            pv.View.SubView(0, 10), tv.View, queryCount, heads, count, splits, scale));
        Assert.Contains("3 splits need", error.Message);
    }

    [Fact]
    public void Validate_names_the_unsupported_dimension()
    {
        var error = Assert.Throws<ArgumentException>(() => SparseMlaTensorCorePlan.Validate(128, 256, 64));
        Assert.Contains("kv_lora_rank 512", error.Message);
        Assert.Contains("got 256 and 64", error.Message);
        Assert.Throws<ArgumentException>(() => SparseMlaTensorCorePlan.Validate(0, 512, 64));
        SparseMlaTensorCorePlan.Validate(128, 512, 64);
    }
}

public sealed class SparseMlaTensorCoreTests_FastCpu(FastCpuBackend b) : SparseMlaTensorCoreTests(b), IClassFixture<FastCpuBackend>;
public sealed class SparseMlaTensorCoreTests_IlgpuCpu(IlgpuCpuBackend b) : SparseMlaTensorCoreTests(b), IClassFixture<IlgpuCpuBackend>
{
    protected override bool RunsLargeCases => false;
}
public sealed class SparseMlaTensorCoreTests_Cuda(CudaBackend b) : SparseMlaTensorCoreTests(b), IClassFixture<CudaBackend>;

/// <summary>The kernel's PTX (no GPU needed): the tensor-core instructions are there and nothing lives in local memory.</summary>
public sealed class SparseMlaTensorCorePtxTests
{
    [Fact]
    public void Ptx_uses_mma_ldmatrix_and_cp_async_without_local_memory()
    {
        var kernel = typeof(MlaTensorCoreKernels).GetMethod(nameof(MlaTensorCoreKernels.SparseMlaTensorCore))!;
        string ptx = KernelSharp.Dsl.PtxCompiler.Compile(kernel, optimization: ILGPU.OptimizationLevel.O2);
        Assert.Contains("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32", ptx);
        Assert.Contains("ldmatrix.sync.aligned.m8n8.x4.shared.b16", ptx);
        Assert.Contains("cp.async", ptx);
        Assert.Contains("shfl.sync.bfly", ptx);   // row max / sum over the 4 lanes of a head
        Assert.Contains("ld.shared.v4", ptx);     // 16-byte value reads that build the P·V B fragments
        Assert.DoesNotContain(".local", ptx);     // register fragments stay in registers
    }
}
