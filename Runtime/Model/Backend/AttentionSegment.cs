namespace KernelSharp.Runtime.Model.Backend;

/// <summary>
/// The rows of one sequence inside a batch of activations, and that sequence's caches for one layer.
/// Row r (FirstRow ≤ r &lt; FirstRow + RowCount) is the token at position StartPosition + (r − FirstRow); its keys are
/// cache rows 0..position (causal). Prefill is one segment of T rows; DecodeBatch is one segment of one row per sequence.
/// </summary>
/// <param name="Latent">[maxContext, kv_lora_rank] normalized latent c per position (MLA keys and values).</param>
/// <param name="RopeKeys">[maxContext, qk_rope_head_dim] rotated k_pe per position, shared by all heads.</param>
/// <param name="IndexKeys">[maxContext, index_head_dim] rotated, layer-normalized indexer key per position.</param>
public sealed record AttentionSegment(int FirstRow, int RowCount, int StartPosition, Tensor Latent, Tensor RopeKeys, Tensor IndexKeys)
{
    /// <summary>Keys visible to the last row of the segment.</summary>
    public int KeyCount => StartPosition + RowCount;
}
