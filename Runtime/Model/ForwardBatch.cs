using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// The rows of one forward pass: one or more sequences, each contributing consecutive rows that continue its cache.
/// Prefill is one sequence with T rows; DecodeBatch is B sequences with one row each.
/// </summary>
internal sealed class ForwardBatch
{
    private readonly List<(LatentKvCache Cache, int FirstRow, int RowCount, int StartPosition, CacheBlocks Blocks)> sequences = [];

    /// <summary>Positions of all rows [T].</summary>
    public List<int> Positions { get; } = [];

    public int Rows => Positions.Count;

    /// <summary>The last row of each sequence [B]: the only rows whose logits continue a sequence.</summary>
    public int[] LastRows => sequences.Select(s => s.FirstRow + s.RowCount - 1).ToArray();

    public void Add(LatentKvCache cache, int rowCount)
    {
        // The block table is taken once per pass: every layer's segments then carry the same object (backends keep its
        // device copy for the whole pass).
        cache.EnsureCapacity(cache.Length + rowCount);
        sequences.Add((cache, Rows, rowCount, cache.Length, cache.Blocks));
        for (var i = 0; i < rowCount; i++)
        {
            Positions.Add(cache.Length + i);
        }
    }

    /// <summary>Each sequence's rows and its caches of layer <paramref name="layer"/>.</summary>
    public IReadOnlyList<AttentionSegment> Segments(int layer) =>
        sequences.Select(s => new AttentionSegment(s.FirstRow, s.RowCount, s.StartPosition, s.Cache[layer].Latent, s.Cache[layer].RopeKeys, s.Cache[layer].IndexKeys, s.Blocks)).ToList();

    /// <summary>After the pass: the new tokens are now part of each cache.</summary>
    public void Commit()
    {
        foreach (var s in sequences)
        {
            s.Cache.Length += s.RowCount;
        }
    }
}
