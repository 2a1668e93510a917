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
/// of one sequence of <c>maxContext</c> tokens (latent + k_pe + indexer key per token and layer, fp32).
/// </summary>
public sealed record MemoryEstimate(long WeightBytes, long CacheBytes)
{
    public long TotalBytes => WeightBytes + CacheBytes;

    public static MemoryEstimate For(ModelConfig config, WeightStorage storage, int maxContext)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxContext);
        long quantizable = 0; // projection weights (FP8 in FP8 checkpoints)
        long plain = 0;       // embeddings, norms, router, weights_proj, lm_head
        long h = config.HiddenSize;
        long qLora = config.QLoraRank ?? 0;
        long heads = config.NumAttentionHeads;
        long attentionProjections = (qLora > 0 ? (qLora * h) + (heads * config.QkHeadDim * qLora) : heads * config.QkHeadDim * h)
            + ((long)(config.KvLoraRank + config.QkRopeHeadDim) * h)
            + (heads * (config.QkNopeHeadDim + config.VHeadDim) * config.KvLoraRank)
            + (h * heads * config.VHeadDim)
            + ((long)config.IndexNHeads * config.IndexHeadDim * qLora) + ((long)config.IndexHeadDim * h);
        long attentionPlain = (2 * h) + qLora + config.KvLoraRank + (2L * config.IndexHeadDim) + ((long)config.IndexNHeads * h);
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            quantizable += attentionProjections;
            plain += attentionPlain;
            if (config.IsMoeLayer(layer))
            {
                quantizable += 3L * h * config.MoeIntermediateSize * (config.NRoutedExperts + config.NSharedExperts);
                plain += (long)config.NRoutedExperts * (h + 1);
            }
            else
            {
                quantizable += 3L * h * config.IntermediateSize;
            }
        }

        plain += (2L * config.VocabSize * h) + h;
        var weightBytes = storage switch
        {
            WeightStorage.Float32 => 4 * (quantizable + plain),
            WeightStorage.BFloat16 => 2 * (quantizable + plain),
            _ => quantizable + (quantizable / (128 * 128) * 4) + (4 * plain),
        };
        long cachePerToken = 4L * config.NumHiddenLayers * (config.KvLoraRank + config.QkRopeHeadDim + config.IndexHeadDim);
        return new MemoryEstimate(weightBytes, cachePerToken * maxContext);
    }

    /// <summary>"12.3 GiB" style text.</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        _ => $"{bytes / 1024.0:0.0} KiB",
    };
}
