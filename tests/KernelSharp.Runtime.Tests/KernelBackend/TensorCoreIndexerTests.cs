using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Kernels;
using KernelSharp.Runtime.Tests.Model;
using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// A prompt's indexer scores on tensor cores (the prefill's default on CUDA) at DeepSeek-V3.2's indexer widths (64 heads
/// of 128), fp32 and FP8 key caches (the reference reads the same cache), fresh random inputs, a chunk that starts mid-sequence: the same −∞ pattern as the exact fp32 scores (each row
/// sees up to its position), finite scores within bf16 distance of them and measurably different (the path is taken),
/// and the same bits over a paged key pool (blocks in shuffled order) as over an unpaged cache with the same keys.
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class TensorCoreIndexerTests(TensorCorePrefillFixture tensorCores, KernelBackendFixture exact)
{
    private const int Heads = 64, Dim = 128, Rows = 70, Start = 30, Keys = Start + Rows, BlockSize = 16;
    private static readonly int[] BlockIds = [5, 2, 7, 0, 3, 6, 1];

    [Theory]
    [InlineData(KvCacheFormat.Fp32)]
    [InlineData(KvCacheFormat.Fp8)]
    public void FastCpu_prompt_scores_run_on_tensor_cores_within_bf16_distance(KvCacheFormat format) => Check(KernelBackend.FastCpu, format);

    [SkippableFact]
    public void Cuda_prompt_scores_run_on_tensor_cores_within_bf16_distance()
    {
        var reason = KernelDevices.UnavailableReason(KernelBackend.Cuda);
        Skip.If(reason is not null, reason);
        Check(KernelBackend.Cuda, KvCacheFormat.Fp32);
        Check(KernelBackend.Cuda, KvCacheFormat.Fp8);
    }

    private void Check(KernelBackend kind, KvCacheFormat format)
    {
        var random = new RandomData();
        var q = random.Floats(Rows * Heads * Dim);                // [rows, heads·dim]
        var w = random.Floats(Rows * Heads, 0.125f);              // [rows, heads], both signs
        var keys = random.Floats(Keys * Dim);                     // [keys, dim] by position
        var reference = Scores(exact.Get(kind), paged: false);
        var unpaged = Scores(tensorCores.Get(kind), paged: false);
        var paged = Scores(tensorCores.Get(kind), paged: true);

        Assert.True(paged.SequenceEqual(unpaged), $"{random}: {kind} {format} cache: the paged pool gives other bits than the unpaged cache");
        double difference = 0, norm = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            Assert.True(float.IsNegativeInfinity(reference[i]) == float.IsNegativeInfinity(unpaged[i]), $"{random}: {kind} {format} cache: score {i} is {unpaged[i]}, exact {reference[i]}");
            if (!float.IsNegativeInfinity(reference[i]))
            {
                difference += (unpaged[i] - (double)reference[i]) * (unpaged[i] - (double)reference[i]);
                norm += (double)reference[i] * reference[i];
            }
        }

        var distance = Math.Sqrt(difference / norm);
        Assert.True(distance is > 1e-5 and < 2e-2, $"{random}: {kind} {format} cache: relative distance {distance:E2} from the fp32 scores (bf16 queries and keys: 1e-5 … 2e-2)");

        float[] Scores(KernelModelBackend backend, bool paged)
        {
            var blocks = paged ? new CacheBlocks(BlockIds, BlockSize) : null;
            using var cache = backend.AllocateIndexKeyCache(paged ? (BlockIds.Length + 2) * BlockSize : Keys, Dim, format);
            using var keyRows = backend.Upload(keys, Keys, Dim);
            for (var p = 0; p < Keys; p++)
            {
                backend.WriteRows(cache, blocks?.Row(p) ?? p, keyRows, p, 1, 0);
            }

            using var latent = backend.Allocate(1, 1);
            var segments = new[] { new AttentionSegment(0, Rows, Start, latent, latent, cache, blocks) };
            using var queries = backend.Upload(q, Rows, Heads * Dim);
            using var weights = backend.Upload(w, Rows, Heads);
            using var scores = backend.IndexerScores(queries, weights, Heads, segments);
            Assert.Equal(Keys, scores.Columns);
            return backend.Download(scores);
        }
    }
}
