using ILGPU;
using KernelSharp.Kernels.Paging;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// The device copy of a <see cref="CacheRun"/>'s page table: per row its position, where its sequence's blocks start in
/// the block table, and the cache row its own key goes to; then the block tables. One upload per run and forward pass:
/// every layer of a pass sees the same segments (the same <see cref="Backend.CacheBlocks"/> objects), so the copy made
/// for the first layer serves the others. One table is kept per cache (pool): the next pass's table for that cache
/// replaces it, and the old buffer goes back to the memory pool first, so a decode step allocates nothing new.
/// </summary>
internal sealed class KernelKeyPages(KernelStorage storage) : IDisposable
{
    /// <summary>Caches whose table is kept (the usual pass has one; sessions with caches of their own add one each).</summary>
    private const int Kept = 8;

    private readonly List<(object Cache, RunKey Key, DeviceBuffer<int> Buffer, DevicePages Pages)> uploaded = [];

    /// <summary>The run's page table on the device.</summary>
    public DevicePages For(CacheRun run)
    {
        var key = new RunKey(run);
        var cache = run.First.Latent;
        var kept = uploaded.FindIndex(entry => ReferenceEquals(entry.Cache, cache));
        if (kept >= 0 && uploaded[kept].Key.Equals(key))
        {
            return uploaded[kept].Pages;
        }

        // launches run in order: kernels queued with the old table have read it before anything reuses its memory
        if (kept >= 0)
        {
            uploaded[kept].Buffer.Dispose();
            uploaded.RemoveAt(kept);
        }
        else if (uploaded.Count == Kept)
        {
            uploaded[0].Buffer.Dispose();
            uploaded.RemoveAt(0);
        }

        var rows = run.Rows;
        var blockCount = run.BlockSize == 0 ? 0 : run.Segments.Sum(s => BlocksUsed(s, run.BlockSize));
        var table = new int[(3 * rows) + Math.Max(blockCount, 1)]; // [positions | table starts | destination rows | block table]
        var blockStart = 0;
        foreach (var segment in run.Segments)
        {
            for (var r = 0; r < segment.RowCount; r++)
            {
                var row = segment.FirstRow - run.FirstRow + r;
                var position = segment.StartPosition + r;
                table[row] = position;
                table[rows + row] = blockStart;
                table[(2 * rows) + row] = segment.CacheRow(position);
            }

            if (segment.Blocks is { } blocks)
            {
                var used = BlocksUsed(segment, run.BlockSize);
                Array.Copy(blocks.Ids, 0, table, (3 * rows) + blockStart, used);
                blockStart += used;
            }
        }

        var buffer = storage.Upload(table);
        var view = buffer.View;
        var pages = new DevicePages(view.SubView(0, rows), view.SubView(rows, rows), view.SubView(2 * rows, rows), view.SubView(3 * rows, Math.Max(blockCount, 1)), run.BlockSize);
        uploaded.Add((cache, key, buffer, pages));
        return pages;
    }

    public void Dispose()
    {
        foreach (var entry in uploaded)
        {
            entry.Buffer.Dispose();
        }

        uploaded.Clear();
    }

    private static int BlocksUsed(Backend.AttentionSegment segment, int blockSize) => (segment.KeyCount + blockSize - 1) / blockSize;

    /// <summary>What makes two runs' tables equal: each segment's block table object, first row, start and length.</summary>
    private sealed class RunKey(CacheRun run) : IEquatable<RunKey>
    {
        private readonly (object? Blocks, int FirstRow, int Start, int Count)[] parts =
            run.Segments.Select(s => ((object?)s.Blocks, s.FirstRow, s.StartPosition, s.RowCount)).ToArray();

        public bool Equals(RunKey? other) =>
            other is not null && other.parts.Length == parts.Length
            && parts.Zip(other.parts).All(p => ReferenceEquals(p.First.Blocks, p.Second.Blocks) && p.First.FirstRow == p.Second.FirstRow
                && p.First.Start == p.Second.Start && p.First.Count == p.Second.Count);

        public override bool Equals(object? obj) => Equals(obj as RunKey);

        public override int GetHashCode() => parts.Length;
    }
}

/// <summary>A run's page table on the device.</summary>
/// <param name="Positions">[rows] each row's position (it sees keys 0 .. position).</param>
/// <param name="TableStarts">[rows] where the row's sequence's blocks start in <paramref name="BlockTable"/>.</param>
/// <param name="DestinationRows">[rows] the cache row each row's own key is written to.</param>
/// <param name="BlockTable">[Σ blocks] the sequences' block ids.</param>
/// <param name="BlockSize">Rows per block, or 0 when the cache is not paged.</param>
internal readonly record struct DevicePages(ArrayView<int> Positions, ArrayView<int> TableStarts, ArrayView<int> DestinationRows, ArrayView<int> BlockTable, int BlockSize)
{
    /// <summary>The table as the kernels take it.</summary>
    public KeyPages Keys => BlockSize == 0 ? KeyPages.Contiguous(Positions) : new KeyPages(Positions, TableStarts, BlockTable, BlockSize);
}
