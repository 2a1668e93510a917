namespace KernelSharp.Runtime.Model.Backend;

/// <summary>
/// The key writes of <see cref="IModelBackend.StoreNormalizedKeys"/> / <see cref="IModelBackend.StoreRotatedKeys"/> as
/// one contiguous write per run of cache rows (a segment's rows split where its blocks do). A backend whose launches cost
/// little (the CPU) uses these directly; a GPU backend writes every row of the pass in one launch instead.
/// </summary>
public static class CacheWrites
{
    /// <summary>The tensor of <paramref name="part"/> in a segment.</summary>
    public static Tensor Cache(this AttentionSegment segment, KeyCachePart part) => part switch
    {
        KeyCachePart.Latent => segment.Latent,
        KeyCachePart.RopeKeys => segment.RopeKeys,
        KeyCachePart.IndexKeys => segment.IndexKeys,
        _ => throw new ArgumentOutOfRangeException(nameof(part), part, null),
    };

    public static void StoreNormalizedByRuns(IModelBackend backend, IReadOnlyList<AttentionSegment> segments, KeyCachePart part, Tensor source, int sourceColumn,
        Tensor weight, float eps)
    {
        foreach (var segment in segments)
        {
            foreach (var (cacheRow, batchRow, count) in segment.CacheRuns())
            {
                backend.RmsNormRowsInto(segment.Cache(part), cacheRow, source, batchRow, count, sourceColumn, weight, eps);
            }
        }
    }

    public static void StoreRotatedByRuns(IModelBackend backend, IReadOnlyList<AttentionSegment> segments, KeyCachePart part, Tensor source, int sourceColumn,
        int ropeOffset, Tensor cos, Tensor sin, RopeLayout layout)
    {
        foreach (var segment in segments)
        {
            foreach (var (cacheRow, batchRow, count) in segment.CacheRuns())
            {
                backend.WriteRotatedRows(segment.Cache(part), cacheRow, source, batchRow, count, sourceColumn, ropeOffset, cos, sin, layout);
            }
        }
    }
}
