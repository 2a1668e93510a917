using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Tests.Reference;
using KernelSharp.Runtime.Tests.Golden;
using KernelSharp.Runtime.Tests.Model;
using Xunit;
using Xunit.Abstractions;
using Tensor = KernelSharp.Runtime.Model.Backend.Tensor;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// The FP8 indexer keys of <see cref="KvCacheFormat.Fp8"/> on the kernel backend (e4m3 codes and one fp32 scale per key,
/// as DeepSeek-V3.2 keeps them): written through the backend's cache writers they read back exactly as the store kernel
/// rounds them, and a model's keys written through the paged pool decode to the fp32 pool's keys within e4m3 precision.
/// The logits contract of the whole FP8 cache is
/// <see cref="Fp8LatentCacheTests"/>'.
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class Fp8IndexKeyCacheTests(KernelBackendFixture backends, ITestOutputHelper output)
{
    /// <summary>e4m3 keeps 3 mantissa bits: round to nearest moves a normal value by at most 2^-4 of itself.</summary>
    private const double E4m3RelativeHalfStep = 1.0 / 16;

    /// <summary>Below e4m3's smallest normal (2^-6) the step is 2^-9 of the key's scale: half of it is the subnormal error.</summary>
    private const double E4m3SubnormalHalfStep = 1.0 / 1024;

    public static TheoryData<KernelBackend> Kinds => new() { KernelBackend.FastCpu, KernelBackend.IlgpuCpu };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Index_key_cache_keeps_what_is_written_as_the_store_rounds_it(KernelBackend kind)
    {
        var random = new RandomData();
        var backend = backends.Get(kind);
        const int context = 9, dim = 32, rows = 3, first = 4, sourceColumns = 40, sourceColumn = 5;
        var sourceRows = random.Floats(rows * sourceColumns, 3f); // [3, 40]: columns 5..36 are the keys
        using var cache = backend.AllocateIndexKeyCache(context, dim, KvCacheFormat.Fp8);
        Assert.Equal(new float[context * dim], backend.Download(cache));
        using var source = backend.Upload(sourceRows, rows, sourceColumns);
        backend.WriteRows(cache, first, source, 0, rows, sourceColumn);

        var written = new float[context * dim]; // [context, dim]: what an fp32 cache would hold
        for (var r = 0; r < rows; r++)
        {
            Array.Copy(sourceRows, (r * sourceColumns) + sourceColumn, written, (first + r) * dim, dim);
        }

        var (codes, scales) = IndexKeyCacheReference.QuantizeFp8(written, context, dim);
        var stored = backend.Download(cache);
        Assert.Equal(IndexKeyCacheReference.DequantizeFp8(codes, scales, context, dim), stored);
        Assert.NotEqual(written, stored); // e4m3 rounding shows
        Assert.Equal(36, IndexKeyCache.Fp8BytesPerToken(dim));
    }

    /// <summary>
    /// IndexerScores over FP8 keys equals the fp32 reference backend's scores over the keys' dequantized values: a prefill of 8
    /// rows after 9 cached tokens and a decode at position 20, two sequences whose scrambled block tables share one paged
    /// cache, so one launch scores both (on FastCpu the per-pair kernel, on the ILGPU CPU accelerator the warp-keys
    /// kernel GPUs run).
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Indexer_scores_read_the_fp8_keys_as_their_dequantized_values(KernelBackend kind)
    {
        const double Tolerance = 2e-5; // KernelBackendOpTests': the dequantized keys are exact in fp32, only sums are reordered
        var random = new RandomData();
        var kernels = backends.Get(kind);
        using var cpu = new CpuBackend();
        const int heads = 4, dim = 16, blockSize = 4, poolRows = 48, rows = 9;
        var poolKeys = random.Floats(poolRows * dim, 2f); // [48, 16]
        var q = random.Floats(rows * heads * dim);
        var weights = random.Floats(rows * heads);
        var (codes, scales) = IndexKeyCacheReference.QuantizeFp8(poolKeys, poolRows, dim);
        var dequantized = IndexKeyCacheReference.DequantizeFp8(codes, scales, poolRows, dim);
        var blocksA = new CacheBlocks([5, 0, 9, 2, 7], blockSize);      // positions 0..16
        var blocksB = new CacheBlocks([3, 11, 1, 4, 8, 10], blockSize); // positions 0..20

        using var fp8Keys = kernels.AllocateIndexKeyCache(poolRows, dim, KvCacheFormat.Fp8);
        using (var source = kernels.Upload(poolKeys, poolRows, dim))
        {
            kernels.WriteRows(fp8Keys, 0, source, 0, poolRows, 0);
        }

        Assert.Equal(dequantized, kernels.Download(fp8Keys));
        using var fp32Keys = cpu.Upload(dequantized, poolRows, dim);
        float[] Scores(IModelBackend backend, Tensor keys)
        {
            using var latent = backend.Allocate(1, 1); // the indexer reads no latent: one shared stand-in keeps both sequences in one run
            using var ropeKeys = backend.Allocate(1, 1);
            IReadOnlyList<AttentionSegment> segments =
            [
                new AttentionSegment(0, 8, 9, latent, ropeKeys, keys, blocksA),
                new AttentionSegment(8, 1, 20, latent, ropeKeys, keys, blocksB),
            ];
            using var queries = backend.Upload(q, rows, heads * dim);
            using var headWeights = backend.Upload(weights, rows, heads);
            using var scores = backend.IndexerScores(queries, headWeights, heads, segments); // [9, 21]
            return backend.Download(scores);
        }

        var expected = Scores(cpu, fp32Keys);
        var actual = Scores(kernels, fp8Keys);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (float.IsNegativeInfinity(expected[i]))
            {
                Assert.True(float.IsNegativeInfinity(actual[i]), $"{random}: score {i} is {actual[i]}, expected −∞");
                continue;
            }

            var allowed = Tolerance * Math.Max(1.0, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= allowed, $"{random}: score {i} is {actual[i]}, expected {expected[i]} (±{allowed:E1})");
        }
    }

    /// <summary>
    /// Two sequences of one paged pool (blocks of 4 rows) run a prefill of 5 and 7 tokens and a decode step together, once
    /// with an fp32 pool and once with an FP8 pool. Layer 0's index keys come from the tokens alone (no cache lies before
    /// them), so both pools receive the same fp32 keys at the same rows: the FP8 pool must hold exactly their e4m3 rounding
    /// (the reference's quantize → dequantize), each value within e4m3's half step of the fp32 key.
    /// </summary>
    [SkippableTheory]
    [InlineData(KernelBackend.FastCpu)]
    [InlineData(KernelBackend.Cuda)]
    public void Index_keys_written_through_the_pool_decode_to_the_fp32_keys_within_e4m3_precision(KernelBackend kind)
    {
        var reason = KernelDevices.UnavailableReason(kind);
        Skip.If(reason is not null, reason);
        using var golden = Fixtures.Golden(Fixtures.Bf16);
        var prompt = golden.Ints("prefill.input_ids");
        var backend = backends.Get(kind);
        using var model = new KernelModelHarness(Fixtures.Bf16, backend, maxContext: 1);
        var dim = model.Config.IndexHeadDim;
        const int Blocks = 6, BlockSize = 4, PoolRows = Blocks * BlockSize;

        var keys = new Dictionary<KvCacheFormat, float[]>(); // [pool rows, dim] layer 0's index keys
        foreach (var format in new[] { KvCacheFormat.Fp32, KvCacheFormat.Fp8 })
        {
            using var pool = new KvCachePool(backend, model.Config, Blocks, BlockSize, format, keepWhenEmpty: true);
            using var first = pool.TryOpen(8)!;
            using var second = pool.TryOpen(12)!;
            model.Forward((first, prompt[..5]), (second, prompt[5..12]));    // prefill: positions 0..4 and 0..6
            model.Forward((first, prompt[12..13]), (second, prompt[13..14])); // one decode step of both
            keys[format] = backend.Download(pool[0].IndexKeys);
        }

        var (fp32, fp8) = (keys[KvCacheFormat.Fp32], keys[KvCacheFormat.Fp8]);
        var (codes, scales) = IndexKeyCacheReference.QuantizeFp8(fp32, PoolRows, dim);
        Assert.Equal(IndexKeyCacheReference.DequantizeFp8(codes, scales, PoolRows, dim), fp8);

        var writtenRows = 0;
        var worst = 0.0; // largest error in units of the value's allowed e4m3 error
        for (var row = 0; row < PoolRows; row++)
        {
            var key = fp32.AsSpan(row * dim, dim);
            var amax = 0f;
            foreach (var value in key)
            {
                amax = Math.Max(amax, Math.Abs(value));
            }

            writtenRows += amax > 0 ? 1 : 0;
            var scale = IndexKeyCache.Fp8Scale(amax);
            for (var d = 0; d < dim; d++)
            {
                var allowed = Math.Max(E4m3RelativeHalfStep * Math.Abs(key[d]), E4m3SubnormalHalfStep * scale);
                worst = Math.Max(worst, Math.Abs(fp8[(row * dim) + d] - key[d]) / allowed);
            }
        }

        output.WriteLine($"{kind}: {writtenRows} rows written, worst index-key error {worst:0.000} of e4m3's half step");
        Assert.Equal(5 + 7 + 2, writtenRows); // every position's key, in its own row, and no other row
        Assert.True(worst <= 1.0, $"an FP8 index key is {worst:0.000} half steps from its fp32 value");
        Assert.NotEqual(fp32, fp8); // the rounding shows
    }
}
