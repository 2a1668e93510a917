namespace KernelSharp.Runtime.Model;

/// <summary>How the weights are held in memory once loaded.</summary>
public enum WeightStorage
{
    /// <summary>4 bytes per weight: the CPU backend dequantizes everything to fp32 at load time.</summary>
    Float32,

    /// <summary>2 bytes per weight.</summary>
    BFloat16,

    /// <summary>1 byte per quantized projection weight plus one fp32 scale per 128×128 block; other tensors fp32.</summary>
    Fp8,
}

/// <summary>
/// Bytes a model needs: its weights (the multi-token-prediction layer excluded, as it is never loaded) and the caches
/// of one sequence of <c>maxContext</c> tokens (latent + k_pe + indexer key per token and layer, in the chosen
/// <see cref="KvCacheFormat"/>).
/// </summary>
public sealed record MemoryEstimate(long WeightBytes, long CacheBytes)
{
    // Saturates rather than wraps: a sum past 2^63 bytes fits on no machine, and must not look small.
    public long TotalBytes => WeightBytes > long.MaxValue - CacheBytes ? long.MaxValue : WeightBytes + CacheBytes;

    /// <exception cref="UserInputException">The sizes overflow 64-bit arithmetic (a config no machine could hold).</exception>
    public static MemoryEstimate For(ModelConfig config, WeightStorage storage, long maxContext, KvCacheFormat kvCache = KvCacheFormat.Fp32) =>
        For(config, storage, maxContext, kvCache, Distributed.ParallelPlan.Single);

    /// <summary>
    /// As above, for a backend that keeps the embedding table as stored (<paramref name="embeddingAsStored"/>: the CPU,
    /// which reads it in place) or in fp32 (a GPU gathers fp32 rows).
    /// </summary>
    public static MemoryEstimate For(ModelConfig config, WeightStorage storage, long maxContext, KvCacheFormat kvCache, bool embeddingAsStored) =>
        For(config, storage, maxContext, kvCache, Distributed.ParallelPlan.Single, embeddingAsStored);

    /// <summary>
    /// As <see cref="For(ModelConfig, WeightStorage, long, KvCacheFormat)"/> for one rank of a split model: its range of the
    /// routed experts, the shared experts on the rank that holds them, its heads of the attention projections, its
    /// vocabulary rows of the embedding and the head (fp32, as a split loads them), and the down-projections, indexer and
    /// caches, which every rank keeps whole.
    /// </summary>
    public static MemoryEstimate For(ModelConfig config, WeightStorage storage, long maxContext, KvCacheFormat kvCache, Distributed.ParallelPlan plan,
        bool embeddingAsStored = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxContext);
        try
        {
            return Compute(config, storage, maxContext, kvCache, plan, embeddingAsStored);
        }
        catch (OverflowException)
        {
            throw new UserInputException(
                $"model config: {config.NumHiddenLayers} layers at hidden {config.HiddenSize} with {config.NRoutedExperts} experts is larger than 64-bit sizes can count; not a real model");
        }
    }

    // Checked throughout: a hostile config (2·10⁹ layers or experts) must fail here, not wrap to a negative size that
    // passes every "fits in memory" guard.
    private static MemoryEstimate Compute(ModelConfig config, WeightStorage storage, long maxContext, KvCacheFormat kvCache, Distributed.ParallelPlan plan,
        bool embeddingAsStored)
    {
        checked
        {
            long routed = config.NRoutedExperts > 0 ? plan.Experts(config.NRoutedExperts).Count : 0;
            long sharedExperts = plan.HoldsSharedExperts ? config.NSharedExperts : 0;
            long h = config.HiddenSize;
            long qLora = config.QLoraRank ?? 0;
            long heads = plan.Heads(config.NumAttentionHeads).Count; // a rank's heads of q_b_proj, kv_b_proj and o_proj
            long attentionProjections = (qLora > 0 ? (qLora * h) + (heads * config.QkHeadDim * qLora) : heads * config.QkHeadDim * h)
                + ((long)(config.KvLoraRank + config.QkRopeHeadDim) * h)
                + (heads * (config.QkNopeHeadDim + config.VHeadDim) * config.KvLoraRank)
                + (h * heads * config.VHeadDim)
                + ((long)config.IndexNHeads * config.IndexHeadDim * qLora) + ((long)config.IndexHeadDim * h);
            long attentionPlain = (2 * h) + qLora + config.KvLoraRank + (2L * config.IndexHeadDim) + ((long)config.IndexNHeads * h);
            long moeLayers = Math.Max(0, config.NumHiddenLayers - config.FirstKDenseReplace);
            long denseLayers = config.NumHiddenLayers - moeLayers;
            long layers = config.NumHiddenLayers;

            long quantizable = (layers * attentionProjections)                                             // projection weights (FP8 in FP8 checkpoints)
                + (moeLayers * 3L * h * config.MoeIntermediateSize * (routed + sharedExperts))
                + (denseLayers * 3L * h * config.IntermediateSize);
            long plain = (layers * attentionPlain)                                                         // norms, router, weights_proj
                + (moeLayers * config.NRoutedExperts * (h + 1)) + h;
            long vocabulary = 2L * plan.Vocabulary(config.VocabSize).Count * h;                            // embedding and lm_head rows
            // The head stays bf16 as checkpoints store it (FP8 ones too); the embedding is gathered as fp32 rows except
            // where the backend reads it in place as stored (the CPU, unsplit): 3 or 2 bytes per value of the two tables.
            long vocabularyBytes = (embeddingAsStored && !plan.IsSplit ? 2 : 3) * vocabulary;
            long weightBytes = storage switch
            {
                WeightStorage.Float32 => 4 * (quantizable + plain + vocabulary),
                WeightStorage.BFloat16 => (2 * (quantizable + plain)) + vocabularyBytes,
                _ => quantizable + (quantizable / (128 * 128) * 4) + (4 * plain) + vocabularyBytes,
            };
            return new MemoryEstimate(weightBytes, CacheBytesPerToken(config, kvCache) * maxContext);
        }
    }

    /// <summary>Bytes of the latent cache (c and k_pe) per token and layer: 2304 in fp32, 656 in FP8 at DeepSeek-V3.2's widths.</summary>
    public static long LatentCacheBytesPerToken(ModelConfig config, KvCacheFormat kvCache) => kvCache switch
    {
        KvCacheFormat.Fp8 => KernelSharp.Kernels.Formats.Fp8LatentRows.RowBytes(config.KvLoraRank, config.QkRopeHeadDim),
        _ => 4L * (config.KvLoraRank + config.QkRopeHeadDim),
    };

    /// <summary>
    /// Bytes of the indexer key cache per token and layer: 512 in fp32, 132 in FP8 (e4m3 codes and one fp32 scale) at
    /// DeepSeek-V3.2's index_head_dim 128.
    /// </summary>
    public static long IndexKeyBytesPerToken(ModelConfig config, KvCacheFormat kvCache) => kvCache switch
    {
        KvCacheFormat.Fp8 => KernelSharp.Kernels.Indexer.IndexKeyCache.Fp8BytesPerToken(config.IndexHeadDim),
        _ => 4L * config.IndexHeadDim,
    };

    /// <summary>Bytes of every cache per token of context, all layers: what one more token of context costs.</summary>
    public static long CacheBytesPerToken(ModelConfig config, KvCacheFormat kvCache) =>
        checked(config.NumHiddenLayers * (LatentCacheBytesPerToken(config, kvCache) + IndexKeyBytesPerToken(config, kvCache)));

    /// <summary>"12.3 GiB" style text.</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        _ => $"{bytes / 1024.0:0.0} KiB",
    };
}
