using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Kernels;
using KernelSharp.Runtime.Tests.Model;
using Xunit;
using Tensor = KernelSharp.Runtime.Model.Backend.Tensor;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// A prompt's MLA attention on tensor cores (the prefill's default on CUDA) at DeepSeek-V3.2's latent widths (512 + 64),
/// fresh random inputs: a chunk that starts mid-sequence, selected keys with empty slots and keys past a row's position,
/// and dense causal attention; 20 heads (a partial block of 16); fp32 and FP8 caches (the reference reads the same FP8 cache). It must stay within bf16 distance of the exact fp32
/// attention and measurably differ from it (so the path is taken), and give the same bits over a paged pool (blocks in
/// shuffled order) as over an unpaged cache holding the same keys (the keys are gathered by the page table).
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class TensorCoreAttentionTests(TensorCorePrefillFixture tensorCores, KernelBackendFixture exact)
{
    private static readonly MlaDimensions Dims = new(Heads: 20, NopeDim: 16, RopeDim: 64, ValueDim: 16, LatentDim: 512);
    private const int Rows = 70, Start = 30, Keys = Start + Rows, Selected = 48, BlockSize = 16;
    private static readonly int[] BlockIds = [5, 2, 7, 0, 3, 6, 1];

    [Theory]
    [InlineData(KvCacheFormat.Fp32)]
    [InlineData(KvCacheFormat.Fp8)]
    public void FastCpu_prompt_attention_runs_on_tensor_cores_within_bf16_distance(KvCacheFormat format) => Check(KernelBackend.FastCpu, format);

    [SkippableFact]
    public void Cuda_prompt_attention_runs_on_tensor_cores_within_bf16_distance()
    {
        var reason = KernelDevices.UnavailableReason(KernelBackend.Cuda);
        Skip.If(reason is not null, reason);
        Check(KernelBackend.Cuda, KvCacheFormat.Fp32);
        Check(KernelBackend.Cuda, KvCacheFormat.Fp8);
    }

    private void Check(KernelBackend kind, KvCacheFormat format)
    {
        var random = new RandomData();
        var q = random.Floats(Rows * Dims.Heads * Dims.QueryHeadDim);                                   // [rows, heads·(nope+rope)]
        var kvB = random.Floats(Dims.Heads * (Dims.NopeDim + Dims.ValueDim) * Dims.LatentDim, 0.1f);    // [heads·(nope+v), latent]
        var latent = random.Floats(Keys * Dims.LatentDim);                                               // [keys, latent] by position
        var rope = random.Floats(Keys * Dims.RopeDim);                                                   // [keys, rope] by position
        var selected = Enumerable.Range(0, Rows * Selected).Select(_ => random.Next(Keys + 1) - 1).ToArray(); // [rows, k] −1, visible and future keys

        foreach (var sparse in new[] { true, false })
        {
            var what = $"{random}: {kind} {format} cache {(sparse ? "selected keys" : "dense causal")}";
            var reference = Attend(exact.Get(kind), paged: false).Select(v => (double)v).ToArray();
            var unpaged = Attend(tensorCores.Get(kind), paged: false);
            var paged = Attend(tensorCores.Get(kind), paged: true);
            var distance = TensorCoreLinearTests.RelativeDistance(unpaged, reference);
            Assert.True(distance is > 1e-5 and < 2e-2, $"{what}: relative distance {distance:E2} from fp32 attention (bf16 queries, keys and P: 1e-5 … 2e-2)");
            Assert.True(paged.SequenceEqual(unpaged), $"{what}: the paged pool gives other bits than the unpaged cache");

            float[] Attend(KernelModelBackend backend, bool paged)
            {
                var poolRows = paged ? BlockIds.Length * BlockSize + 2 * BlockSize : Keys;
                var blocks = paged ? new CacheBlocks(BlockIds, BlockSize) : null;
                var (latentCache, ropeCache) = backend.AllocateLatentCache(poolRows, Dims.LatentDim, Dims.RopeDim, format);
                using (latentCache)
                using (ropeCache)
                using (var latentRows = backend.Upload(latent, Keys, Dims.LatentDim))
                using (var ropeRows = backend.Upload(rope, Keys, Dims.RopeDim))
                using (var indexKeys = backend.Allocate(1, 1))
                {
                    for (var p = 0; p < Keys; p++)
                    {
                        var row = blocks?.Row(p) ?? p;
                        backend.WriteRows(latentCache, row, latentRows, p, 1, 0);
                        backend.WriteRows(ropeCache, row, ropeRows, p, 1, 0);
                    }

                    var segments = new[] { new AttentionSegment(0, Rows, Start, latentCache, ropeCache, indexKeys, blocks) };
                    using var query = backend.Upload(q, Rows, Dims.Heads * Dims.QueryHeadDim);
                    using var projection = backend.Upload(kvB, Dims.Heads * (Dims.NopeDim + Dims.ValueDim), Dims.LatentDim);
                    using var keys = backend.Upload(selected, Rows, Selected);
                    using var result = backend.MlaAttention(query, projection, Dims, 0.1f, segments, sparse ? keys : null);
                    return backend.Download(result);
                }
            }
        }
    }
}
