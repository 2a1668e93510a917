namespace KernelSharp.Runtime.Model.Backend;

/// <summary>
/// The rows of one sequence inside a batch of activations, and that sequence's caches for one layer.
/// Row r (FirstRow ≤ r &lt; FirstRow + RowCount) is the token at position StartPosition + (r − FirstRow); its keys are
/// the positions 0..position (causal). Prefill is one segment of T rows; DecodeBatch is one segment of one row per sequence.
/// Position p's keys are cache row p, or, in a paged cache (<paramref name="Blocks"/>), row <see cref="CacheBlocks.Row"/>(p)
/// of the pool tensors that several sequences share.
/// </summary>
/// <param name="Latent">[cache rows, kv_lora_rank] normalized latent c per position (MLA keys and values).</param>
/// <param name="RopeKeys">[cache rows, qk_rope_head_dim] rotated k_pe per position, shared by all heads.</param>
/// <param name="IndexKeys">[cache rows, index_head_dim] rotated, layer-normalized indexer key per position.</param>
/// <param name="Blocks">The sequence's block table when the caches are a paged pool, else null (position = cache row).</param>
public sealed record AttentionSegment(int FirstRow, int RowCount, int StartPosition, Tensor Latent, Tensor RopeKeys, Tensor IndexKeys, CacheBlocks? Blocks = null)
{
    /// <summary>Keys visible to the last row of the segment.</summary>
    public int KeyCount => StartPosition + RowCount;

    /// <summary>The cache row that holds position <paramref name="position"/>'s keys.</summary>
    public int CacheRow(int position) => Blocks?.Row(position) ?? position;

    /// <summary>The segment's own rows' positions as runs contiguous in the cache: (first cache row, first row of the batch, rows).</summary>
    public IEnumerable<(int CacheRow, int BatchRow, int Count)> CacheRuns()
    {
        if (Blocks is null)
        {
            yield return (StartPosition, FirstRow, RowCount);
            yield break;
        }

        foreach (var (row, offset, count) in Blocks.Runs(StartPosition, RowCount))
        {
            yield return (row, FirstRow + offset, count);
        }
    }
}
