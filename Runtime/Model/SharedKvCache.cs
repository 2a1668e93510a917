namespace KernelSharp.Runtime.Model;

/// <summary>
/// A paged KV cache that many sessions share (<see cref="DeepSeekModel.CreateSharedKvCache"/>): one pool of blocks per
/// layer, from which each session created on it (<see cref="DeepSeekModel.CreateSession(int, SharedKvCache?)"/>) reserves
/// the blocks of its maximum context, takes them as it grows and returns them when disposed. Sessions of one cache run
/// their attention in shared launches when decoded together. Dispose it after its sessions.
/// </summary>
public sealed class SharedKvCache : IDisposable
{
    internal SharedKvCache(KvCachePool pool) => Pool = pool;

    /// <summary>Positions per block.</summary>
    public int BlockSize => Pool.BlockSize;

    /// <summary>Blocks in all.</summary>
    public int Blocks => Pool.Blocks;

    /// <summary>Blocks that sessions hold now (taken as they grew).</summary>
    public int UsedBlocks => Pool.UsedBlocks;

    /// <summary>Blocks no session has reserved: a new session of up to <c>UnreservedBlocks · BlockSize</c> positions fits.</summary>
    public int UnreservedBlocks => Pool.UnreservedBlocks;

    internal KvCachePool Pool { get; }

    /// <summary>Blocks a session of <paramref name="maxContext"/> positions reserves.</summary>
    public int BlocksFor(int maxContext) => Pool.BlocksFor(maxContext);

    public void Dispose() => Pool.Dispose();
}
