using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// One sequence's caches: per layer the MLA latent c [maxContext, kv_lora_rank], the rotated shared key k_pe
/// [maxContext, qk_rope_head_dim], and the indexer key [maxContext, index_head_dim]. Everything attention needs
/// from past tokens — per token and layer (kv_lora + rope + index_dim) floats, the same for every head. The latent c
/// and k_pe are kept in <see cref="Format"/> (fp32, or DeepSeek-V3.2's 656-byte FP8 rows), chosen here once for all
/// layers; the index keys stay fp32.
/// </summary>
internal sealed class LatentKvCache : IDisposable
{
    private readonly LayerCache[] layers;

    public LatentKvCache(IModelBackend backend, ModelConfig config, int maxContext, KvCacheFormat format = KvCacheFormat.Fp32)
    {
        MaxContext = maxContext;
        Format = format;
        layers = new LayerCache[config.NumHiddenLayers];
        try
        {
            for (var i = 0; i < layers.Length; i++)
            {
                var (latent, ropeKeys) = backend.AllocateLatentCache(maxContext, config.KvLoraRank, config.QkRopeHeadDim, format); // [maxContext, kv_lora], [maxContext, rope]
                layers[i] = new LayerCache(latent, ropeKeys, backend.Allocate(maxContext, config.IndexHeadDim)); // index keys [maxContext, index_dim]
            }
        }
        catch
        {
            Dispose(); // a refused format (or no memory) must not leak the layers made before it
            throw;
        }
    }

    public int MaxContext { get; }

    public KvCacheFormat Format { get; }

    /// <summary>Tokens whose keys are stored (positions 0..Length-1).</summary>
    public int Length { get; set; }

    public LayerCache this[int layer] => layers[layer];

    public void Dispose()
    {
        foreach (var layer in layers.Where(layer => layer is not null))
        {
            layer.Latent.Dispose();
            layer.RopeKeys.Dispose();
            layer.IndexKeys.Dispose();
        }
    }

    /// <param name="Latent">[maxContext, kv_lora_rank]</param>
    /// <param name="RopeKeys">[maxContext, qk_rope_head_dim]</param>
    /// <param name="IndexKeys">[maxContext, index_head_dim]</param>
    internal sealed record LayerCache(Tensor Latent, Tensor RopeKeys, Tensor IndexKeys);
}
