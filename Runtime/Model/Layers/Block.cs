using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Distributed;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>
/// One pre-norm residual layer <c>model.layers.{i}</c>: h += Attn(input_layernorm(h)); h += FFN(post_attention_layernorm(h)).
/// The FFN is the dense MLP for i &lt; first_k_dense_replace, MoE after.
/// </summary>
internal sealed class Block
{
    private readonly IModelBackend backend;
    private readonly RmsNorm attentionNorm;   // input_layernorm [H]
    private readonly MlaAttention attention;  // self_attn
    private readonly RmsNorm ffnNorm;         // post_attention_layernorm [H]
    private readonly IFeedForward ffn;        // mlp

    public Block(IModelBackend backend, WeightLoader weights, ModelConfig config, int layer, ModelParallelism parallelism)
    {
        this.backend = backend;
        var prefix = $"model.layers.{layer}";
        attentionNorm = new RmsNorm(backend, weights, $"{prefix}.input_layernorm", config.HiddenSize, config.RmsNormEps);
        attention = new MlaAttention(backend, weights, config, $"{prefix}.self_attn", parallelism);
        ffnNorm = new RmsNorm(backend, weights, $"{prefix}.post_attention_layernorm", config.HiddenSize, config.RmsNormEps);
        ffn = config.IsMoeLayer(layer)
            ? new Moe(backend, weights, config, $"{prefix}.mlp", parallelism)
            : new Mlp(backend, weights, $"{prefix}.mlp", config.HiddenSize, config.IntermediateSize);
    }

    /// <summary>
    /// h [T, H], updated in place, except that the FFN's output is returned [T, H] instead of added: the next layer's
    /// first norm (or the final norm) adds it while normalizing, saving a pass over h. <paramref name="pending"/> is the
    /// previous layer's such output (null for the first layer); this call consumes and disposes it.
    /// </summary>
    public Tensor Forward(Tensor h, Tensor? pending, Tensor cos, Tensor sin, IReadOnlyList<AttentionSegment> segments, ForwardTrace? trace)
    {
        Tensor attended;
        using (pending)
        using (var normed = attentionNorm.Forward(h, pending))  // h += pending; normed = norm(h)
        {
            attended = attention.Forward(normed, cos, sin, segments, trace);
        }

        using (attended)
        using (var normed = ffnNorm.Forward(h, attended))       // h += attended; normed = norm(h)
        {
            return ffn.Forward(normed);
        }
    }
}
