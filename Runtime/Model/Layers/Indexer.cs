using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// The lightning indexer (DSA): scores every visible key for each query with a few cheap ReLU heads and keeps the
/// index_topk best; MLA then attends only to those. Weights under <c>model.layers.{i}.self_attn.indexer.</c>.
/// Its per-head vectors put the rope part FIRST ([rope ‖ nope]) and rotate it with half-split pairs.
/// </summary>
internal sealed class Indexer
{
    private readonly IModelBackend backend;
    private readonly Linear wqB;          // wq_b [index_heads·index_dim, q_lora]
    private readonly Linear wk;           // wk [index_dim, H]
    private readonly LayerNorm kNorm;     // k_norm [index_dim] (+ bias)
    private readonly Linear weightsProj;  // weights_proj [index_heads, H] fp32, times index_heads^-0.5 · index_dim^-0.5
    private readonly int heads;
    private readonly int headDim;
    private readonly int topK;

    public Indexer(IModelBackend backend, WeightLoader weights, ModelConfig config, string prefix)
    {
        this.backend = backend;
        heads = config.IndexNHeads;
        headDim = config.IndexHeadDim;
        topK = config.IndexTopk;
        var qLora = config.QLoraRank ?? throw new ConfigException("model config: 'q_lora_rank' must be set for DSA models (the indexer reads the query latent)");
        wqB = new Linear(backend, weights, $"{prefix}.wq_b", qLora, heads * headDim);
        wk = new Linear(backend, weights, $"{prefix}.wk", config.HiddenSize, headDim);
        kNorm = new LayerNorm(backend, weights, $"{prefix}.k_norm", headDim, 1e-6);
        // The reference scales head weights by index_heads^-0.5 and each ReLU(q·k) by index_dim^-0.5; a positive
        // factor passes through ReLU, so both are folded into the head weights, and from there into weights_proj
        // itself (kept fp32 for that: [index_heads, H] is small), once at load instead of a scaling pass per step.
        weightsProj = new Linear(backend, weights, $"{prefix}.weights_proj", config.HiddenSize, heads, fp32: true);
        backend.ScaleInPlace(weightsProj.Weight, (float)(Math.Pow(heads, -0.5) * Math.Pow(headDim, -0.5)));
    }

    /// <summary>
    /// Stores this step's index keys in the cache and returns the keys each row may attend to [T, index_topk]
    /// (−1 = empty slot), or null when every row sees at most index_topk keys, which is exactly dense causal attention.
    /// </summary>
    /// <param name="x">normalized hidden states [T, H]</param>
    /// <param name="queryLatent">q_resid = q_a_layernorm(q_a_proj(x)) [T, q_lora]</param>
    public IndexTensor? Forward(Tensor x, Tensor queryLatent, Tensor cos, Tensor sin, IReadOnlyList<AttentionSegment> segments, ForwardTrace? trace)
    {
        using var projectedKeys = wk.Forward(x);                                   // [T, index_dim]
        using var keys = kNorm.Forward(projectedKeys);                             // [T, index_dim], not yet rotated
        backend.StoreRotatedKeys(segments, KeyCachePart.IndexKeys, keys, 0, 0, cos, sin, RopeLayout.HalfSplit);

        // A prefill no longer than index_topk, or a decode while the cache holds at most index_topk keys: every visible
        // key would be selected, so the layer is exactly dense causal MLA and the scores are not needed.
        var maxKeys = segments.Max(s => s.KeyCount);
        if (maxKeys <= topK && trace is null)
        {
            return null;
        }

        using var queries = wqB.Forward(queryLatent);                            // [T, index_heads·index_dim]
        backend.ApplyRope(queries, heads, headDim, 0, cos, sin, RopeLayout.HalfSplit);
        using var headWeights = weightsProj.Forward(x);                         // [T, index_heads], scales folded in
        using var scores = backend.IndexerScores(queries, headWeights, heads, segments); // [T, maxKeys]
        var selected = backend.TopK(scores, topK, segments);                    // [T, index_topk]
        if (trace is not null)
        {
            trace.IndexerScores.Add(backend.Download(scores));
            trace.IndexerTopK.Add(backend.Download(selected));
            trace.IndexerKeyCount = maxKeys;
        }

        if (maxKeys <= topK)
        {
            selected.Dispose();
            return null;
        }

        return selected;
    }
}
