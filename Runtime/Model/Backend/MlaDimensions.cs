namespace KernelSharp.Runtime.Model.Backend;

/// <summary>Head layout of multi-head latent attention, as the attention op needs it.</summary>
/// <param name="Heads">num_attention_heads.</param>
/// <param name="NopeDim">qk_nope_head_dim: the part of q/k without position.</param>
/// <param name="RopeDim">qk_rope_head_dim: the rotated part of q/k (k_pe is shared by all heads).</param>
/// <param name="ValueDim">v_head_dim.</param>
/// <param name="LatentDim">kv_lora_rank: width of the cached latent c.</param>
public readonly record struct MlaDimensions(int Heads, int NopeDim, int RopeDim, int ValueDim, int LatentDim)
{
    /// <summary>Width of one query head in q: [nope ‖ rope].</summary>
    public int QueryHeadDim => NopeDim + RopeDim;
}
