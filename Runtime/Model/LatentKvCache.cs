using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// One sequence's caches: per layer the MLA latent c [maxContext, kv_lora_rank], the rotated shared key k_pe
/// [maxContext, qk_rope_head_dim], and the indexer key [maxContext, index_head_dim]. Everything attention needs
/// from past tokens — per token and layer (kv_lora + rope + index_dim) floats, the same for every head.
/// </summary>
internal sealed class LatentKvCache : IDisposable
{
    private readonly LayerCache[] layers;

    public LatentKvCache(IModelBackend backend, ModelConfig config, int maxContext)
    {
        MaxContext = maxContext;
        layers = new LayerCache[config.NumHiddenLayers];
        for (var i = 0; i < layers.Length; i++)
        {
            var (latent, ropeKeys) = backend.AllocateLatentCache(maxContext, config.KvLoraRank, config.QkRopeHeadDim); // [maxContext, kv_lora], [maxContext, rope]
            layers[i] = new LayerCache(latent, ropeKeys, backend.Allocate(maxContext, config.IndexHeadDim)); // index keys [maxContext, index_dim]
        }
    }

    public int MaxContext { get; }

    /// <summary>Tokens whose keys are stored (positions 0..Length-1).</summary>
    public int Length { get; set; }

    public LayerCache this[int layer] => layers[layer];

    public void Dispose()
    {
        foreach (var layer in layers)
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
