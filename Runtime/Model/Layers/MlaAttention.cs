using KernelSharp.Runtime.Distributed;
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
    private readonly ModelParallelism parallelism;
    private readonly Tensor downProjections;  // q_a_proj [q_lora, H] over kv_a_proj_with_mqa [kv_lora+rope, H]: [q_lora+kv_lora+rope, H]
    private readonly RmsNorm qANorm;          // q_a_layernorm [q_lora]
    private readonly Tensor qBProj;           // q_b_proj, this rank's heads: [heads·(nope+rope), q_lora]
    private readonly int qLora;
    private readonly RmsNorm kvANorm;         // kv_a_layernorm [kv_lora]
    private readonly Tensor kvBProj;          // kv_b_proj, this rank's heads: [heads·(nope+v), kv_lora], as stored where kept
    private readonly Tensor oProj;            // o_proj, this rank's heads' columns: [H, heads·v]
    private readonly Indexer indexer;
    private readonly MlaDimensions dims;      // with this rank's head count
    private readonly float softmaxScale;

    public MlaAttention(IModelBackend backend, WeightLoader weights, ModelConfig config, string prefix, ModelParallelism parallelism)
    {
        this.backend = backend;
        this.parallelism = parallelism;
        // Heads are independent until o_proj sums them, so a rank keeps a range of heads (tensor parallel, as DeepSeek's
        // model.py splits them) and the ranks' partial o_proj outputs are summed; the latent it attends to is shared.
        var (firstHead, heads) = parallelism.Plan.Heads(config.NumAttentionHeads);
        dims = new MlaDimensions(heads, config.QkNopeHeadDim, config.QkRopeHeadDim, config.VHeadDim, config.KvLoraRank);
        var allHeads = config.NumAttentionHeads;
        qLora = config.QLoraRank ?? throw new ConfigException("model config: 'q_lora_rank' must be set for DSA models (the indexer reads the query latent)");
        // Both down-projections read the same x: stacked, they are one GEMV per step instead of two.
        downProjections = weights.StackedMatrix([($"{prefix}.q_a_proj.weight", qLora), ($"{prefix}.kv_a_proj_with_mqa.weight", dims.LatentDim + dims.RopeDim)], config.HiddenSize);
        qANorm = new RmsNorm(backend, weights, $"{prefix}.q_a_layernorm", qLora, config.RmsNormEps);
        qBProj = weights.MatrixRows($"{prefix}.q_b_proj.weight", allHeads * dims.QueryHeadDim, qLora, firstHead * dims.QueryHeadDim, heads * dims.QueryHeadDim);
        kvANorm = new RmsNorm(backend, weights, $"{prefix}.kv_a_layernorm", dims.LatentDim, config.RmsNormEps);
        // As stored (bf16, FP8 with block scales) where the backend keeps weights so: the absorb and up-project kernels
        // read kv_b_proj's rows in any format, and a decode step reads all of it, so fp32 would read 2-4x the bytes.
        var kvBRows = dims.NopeDim + dims.ValueDim;
        kvBProj = weights.MatrixRows($"{prefix}.kv_b_proj.weight", allHeads * kvBRows, dims.LatentDim, firstHead * kvBRows, heads * kvBRows);
        oProj = weights.MatrixColumns($"{prefix}.o_proj.weight", config.HiddenSize, allHeads * dims.ValueDim, firstHead * dims.ValueDim, heads * dims.ValueDim);
        indexer = new Indexer(backend, weights, config, $"{prefix}.indexer");
        // (nope+rope)^-0.5, times YaRN's m² when the config scales positions
        softmaxScale = (float)(Math.Pow(dims.QueryHeadDim, -0.5) * config.Rope.AttentionScaleMultiplier);
    }

    /// <summary>x: normalized hidden states [T, H] → [T, H]. Appends this step's latent and k_pe to each segment's cache.</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, IReadOnlyList<AttentionSegment> segments, ForwardTrace? trace)
    {
        using var projected = backend.Linear(x, downProjections);                // [T, q_lora+kv_lora+rope] = [q_a(x) ‖ latent ‖ k_pe]

        // queries
        using var queryLatent = qANorm.ForwardColumns(projected, 0);             // q_resid [T, q_lora]
        using var q = backend.Linear(queryLatent, qBProj);                       // [T, heads·(nope+rope)], q_pe rotated by the attention

        // this step's keys: c = kv_a_layernorm(latent columns) and the rotated k_pe go straight into the caches
        kvANorm.StoreKeys(segments, projected, qLora);
        backend.StoreRotatedKeys(segments, KeyCachePart.RopeKeys, projected, qLora + dims.LatentDim, 0, cos, sin, RopeLayout.Interleaved);

        // which keys each query reads, then sparse attention over the cache
        using var selected = indexer.Forward(x, queryLatent, cos, sin, segments, trace); // [T, index_topk] or null (dense)
        using var attended = backend.MlaAttention(q, kvBProj, dims, softmaxScale, segments, selected, cos, sin); // [T, heads·v]
        var output = backend.Linear(attended, oProj);                            // [T, H]: this rank's heads' part
        if (!parallelism.Exchanges)
        {
            return output;
        }

        using (output)
        {
            return parallelism.AllReduceSum(output);                             // every rank's heads
        }
    }
}
