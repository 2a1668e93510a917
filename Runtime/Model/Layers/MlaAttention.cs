using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// Multi-head latent attention with DeepSeek Sparse Attention. Weights under <c>model.layers.{i}.self_attn.</c>.
/// Keys and values of past tokens live only as the latent c and the shared rotated k_pe (the absorbed form), and
/// each query attends to the keys its layer's <see cref="Indexer"/> picked.
/// </summary>
internal sealed class MlaAttention
{
    private readonly IModelBackend backend;
    private readonly Linear qAProj;           // q_a_proj [q_lora, H]
    private readonly RmsNorm qANorm;          // q_a_layernorm [q_lora]
    private readonly Linear qBProj;           // q_b_proj [heads·(nope+rope), q_lora]
    private readonly Linear kvAProj;          // kv_a_proj_with_mqa [kv_lora+rope, H]
    private readonly RmsNorm kvANorm;         // kv_a_layernorm [kv_lora]
    private readonly Linear kvBProj;          // kv_b_proj [heads·(nope+v), kv_lora]
    private readonly Linear oProj;            // o_proj [H, heads·v]
    private readonly Indexer indexer;
    private readonly MlaDimensions dims;
    private readonly float softmaxScale;

    public MlaAttention(IModelBackend backend, WeightLoader weights, ModelConfig config, string prefix)
    {
        this.backend = backend;
        dims = new MlaDimensions(config.NumAttentionHeads, config.QkNopeHeadDim, config.QkRopeHeadDim, config.VHeadDim, config.KvLoraRank);
        var qLora = config.QLoraRank ?? throw new ConfigException("model config: 'q_lora_rank' must be set for DSA models (the indexer reads the query latent)");
        qAProj = new Linear(backend, weights, $"{prefix}.q_a_proj", config.HiddenSize, qLora);
        qANorm = new RmsNorm(backend, weights, $"{prefix}.q_a_layernorm", qLora, config.RmsNormEps);
        qBProj = new Linear(backend, weights, $"{prefix}.q_b_proj", qLora, dims.Heads * dims.QueryHeadDim);
        kvAProj = new Linear(backend, weights, $"{prefix}.kv_a_proj_with_mqa", config.HiddenSize, dims.LatentDim + dims.RopeDim);
        kvANorm = new RmsNorm(backend, weights, $"{prefix}.kv_a_layernorm", dims.LatentDim, config.RmsNormEps);
        // fp32: the attention's absorb / up-project kernels read kv_b_proj per head as fp32 rows.
        kvBProj = new Linear(backend, weights, $"{prefix}.kv_b_proj", dims.LatentDim, dims.Heads * (dims.NopeDim + dims.ValueDim), fp32: true);
        oProj = new Linear(backend, weights, $"{prefix}.o_proj", dims.Heads * dims.ValueDim, config.HiddenSize);
        indexer = new Indexer(backend, weights, config, $"{prefix}.indexer");
        // (nope+rope)^-0.5, times YaRN's m² when the config scales positions
        softmaxScale = (float)(Math.Pow(dims.QueryHeadDim, -0.5) * config.Rope.AttentionScaleMultiplier);
    }

    /// <summary>x: normalized hidden states [T, H] → [T, H]. Appends this step's latent and k_pe to each segment's cache.</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, IReadOnlyList<AttentionSegment> segments, ForwardTrace? trace)
    {
        // queries
        using var projectedQuery = qAProj.Forward(x);                            // [T, q_lora]
        using var queryLatent = qANorm.Forward(projectedQuery);                  // q_resid [T, q_lora]
        using var q = qBProj.Forward(queryLatent);                               // [T, heads·(nope+rope)]
        backend.ApplyRope(q, dims.Heads, dims.QueryHeadDim, dims.NopeDim, cos, sin, RopeLayout.Interleaved);

        // this step's keys: latent c and k_pe, into the cache
        using var compressed = kvAProj.Forward(x);                               // [T, kv_lora+rope] = [latent ‖ k_pe]
        backend.ApplyRope(compressed, 1, dims.LatentDim + dims.RopeDim, dims.LatentDim, cos, sin, RopeLayout.Interleaved);
        using var rawLatent = backend.Columns(compressed, 0, dims.LatentDim);    // [T, kv_lora]
        using var latent = kvANorm.Forward(rawLatent);                           // c [T, kv_lora]
        foreach (var segment in segments)
        {
            backend.WriteRows(segment.Latent, segment.StartPosition, latent, segment.FirstRow, segment.RowCount, 0);
            backend.WriteRows(segment.RopeKeys, segment.StartPosition, compressed, segment.FirstRow, segment.RowCount, dims.LatentDim);
        }

        // which keys each query reads, then sparse attention over the cache
        using var selected = indexer.Forward(x, queryLatent, cos, sin, segments, trace); // [T, index_topk] or null (dense)
        using var attended = backend.MlaAttention(q, kvBProj.Weight, dims, softmaxScale, segments, selected); // [T, heads·v]
        return oProj.Forward(attended);
    }
}
