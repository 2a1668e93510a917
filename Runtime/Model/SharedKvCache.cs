namespace KernelSharp.Runtime.Model;

/// <summary>
/// A paged KV cache that many sessions share (<see cref="DeepSeekModel.CreateSharedKvCache"/>): one pool of blocks per
/// layer, from which each session created on it (<see cref="DeepSeekModel.CreateSession(int, SharedKvCache?)"/>) reserves
/// the blocks of its maximum context, takes them as it grows and returns them when disposed. Sessions of one cache run
/// their attention in shared launches when decoded together. Dispose it after its sessions.
/// </summary>
public sealed class SharedKvCache : IDisposable
{
    internal SharedKvCache(IReadOnlyList<KvCachePool> pools) => Pools = pools;

    /// <summary>Positions per block.</summary>
    public int BlockSize => Pool.BlockSize;

    /// <summary>Blocks in all.</summary>
    public int Blocks => Pool.Blocks;

    /// <summary>Blocks that sessions hold now (taken as they grew).</summary>
    public int UsedBlocks => Pool.UsedBlocks;

    /// <summary>Blocks no session has reserved: a new session of up to <c>UnreservedBlocks · BlockSize</c> positions fits.</summary>
    public int UnreservedBlocks => Pool.UnreservedBlocks;

    /// <summary>Rank 0's pool: its block counts stand for every rank's, whose pools take and free blocks in step with it.</summary>
    internal KvCachePool Pool => Pools[0];

    /// <summary>One pool per rank of the model, rank 0 first (every rank attends over the shared latent, so every rank keeps the caches).</summary>
    internal IReadOnlyList<KvCachePool> Pools { get; }

    /// <summary>Blocks a session of <paramref name="maxContext"/> positions reserves.</summary>
    public int BlocksFor(int maxContext) => Pool.BlocksFor(maxContext);

    /// <summary>A new sequence's caches, one per rank, or null when the blocks are not free.</summary>
    internal LatentKvCache[]? TryOpen(int maxContext)
    {
        var caches = new List<LatentKvCache>(Pools.Count);
        foreach (var pool in Pools)
        {
            if (pool.TryOpen(maxContext) is not { } cache)
            {
                caches.ForEach(c => c.Dispose());
                return null;
            }

            caches.Add(cache);
        }

        return [.. caches];
    }

    public void Dispose()
    {
        foreach (var pool in Pools)
        {
            pool.Dispose();
        }
    }
}
