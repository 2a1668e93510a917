namespace KernelSharp.Runtime.Model.Backend;

/// <summary>
/// A sequence's block table in a paged cache: its keys at positions p live in rows
/// <c>Ids[p / BlockSize] · BlockSize + p % BlockSize</c> of the pool's tensors (every layer uses the same table). A
/// snapshot taken for one forward pass; the sequence may own more blocks later.
/// </summary>
/// <param name="Ids">The sequence's blocks in position order (block i holds positions i·BlockSize .. (i+1)·BlockSize − 1).</param>
/// <param name="BlockSize">Rows per block.</param>
public sealed record CacheBlocks(int[] Ids, int BlockSize)
{
    /// <summary>The pool row of position <paramref name="position"/>.</summary>
    public int Row(int position) => (Ids[position / BlockSize] * BlockSize) + (position % BlockSize);

    /// <summary>
    /// Positions start .. start + count − 1 as runs that are contiguous in the pool: (first pool row, offset of the run
    /// from <paramref name="start"/>, rows). A write of consecutive positions is one copy per run.
    /// </summary>
    public IEnumerable<(int Row, int Offset, int Count)> Runs(int start, int count)
    {
        var offset = 0;
        while (offset < count)
        {
            var position = start + offset;
            var run = Math.Min(count - offset, BlockSize - (position % BlockSize));
            yield return (Row(position), offset, run);
            offset += run;
        }
    }
}
