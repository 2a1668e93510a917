using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// Consecutive segments of a batch whose rows follow one another and whose caches are the same tensors (sequences of
/// one paged pool, or one unpaged cache): the cache kernels run once for all their rows.
/// </summary>
internal sealed class CacheRun
{
    private CacheRun(List<AttentionSegment> segments)
    {
        Segments = segments;
        FirstRow = segments[0].FirstRow;
        Rows = segments.Sum(s => s.RowCount);
        KeyCount = segments.Max(s => s.KeyCount);
        BlockSize = segments[0].Blocks?.BlockSize ?? 0;
    }

    public IReadOnlyList<AttentionSegment> Segments { get; }

    /// <summary>The first batch row of the run; its rows are FirstRow .. FirstRow + Rows − 1.</summary>
    public int FirstRow { get; }

    public int Rows { get; }

    /// <summary>Keys visible to the run's furthest row.</summary>
    public int KeyCount { get; }

    /// <summary>Rows per block of the shared pool, or 0 when the cache is not paged (position = cache row).</summary>
    public int BlockSize { get; }

    public AttentionSegment First => Segments[0];

    /// <summary>The batch's segments cut into runs, in order.</summary>
    public static List<CacheRun> Split(IReadOnlyList<AttentionSegment> segments)
    {
        var runs = new List<CacheRun>();
        var current = new List<AttentionSegment>();
        foreach (var segment in segments)
        {
            if (current.Count > 0 && !Continues(current[^1], segment))
            {
                runs.Add(new CacheRun(current));
                current = [];
            }

            current.Add(segment);
        }

        if (current.Count > 0)
        {
            runs.Add(new CacheRun(current));
        }

        return runs;
    }

    /// <summary>True when the segments' rows, laid end to end, are exactly rows 0 .. rows − 1 (the usual batch).</summary>
    public static bool CoverEveryRow(IReadOnlyList<AttentionSegment> segments, int rows)
    {
        var next = 0;
        foreach (var segment in segments)
        {
            if (segment.FirstRow != next)
            {
                return false;
            }

            next += segment.RowCount;
        }

        return next == rows;
    }

    // Unpaged caches are one per sequence, so only paged segments of the same pool (same tensors, same block size) join.
    private static bool Continues(AttentionSegment previous, AttentionSegment next) =>
        next.FirstRow == previous.FirstRow + previous.RowCount
        && previous.Blocks is { } a && next.Blocks is { } b && a.BlockSize == b.BlockSize
        && ReferenceEquals(previous.Latent, next.Latent) && ReferenceEquals(previous.RopeKeys, next.RopeKeys) && ReferenceEquals(previous.IndexKeys, next.IndexKeys);
}
