using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// One sequence's caches: its blocks of a <see cref="KvCachePool"/>, which hold per layer the MLA latent c, the rotated
/// shared key k_pe and the indexer key of each position — everything attention needs from past tokens, the same for
/// every head. The sequence reserves blocks for <see cref="MaxContext"/> positions when it starts (so it never runs out
/// mid-way) and takes them from the pool as it grows.
/// </summary>
internal sealed class LatentKvCache : IDisposable
{
    private readonly KvCachePool pool;
    private readonly List<int> blocks = [];
    private readonly int reservedBlocks;
    private readonly Action<KvCachePool>? onPoolUnused;
    private CacheBlocks? snapshot;
    private bool disposed;

    /// <param name="pool">The pool; <paramref name="reservedBlocks"/> of it are already reserved for this sequence.</param>
    /// <param name="onPoolUnused">Called when this was the pool's last sequence (a one-sequence pool is then freed).</param>
    internal LatentKvCache(KvCachePool pool, int maxContext, int reservedBlocks, Action<KvCachePool>? onPoolUnused)
    {
        this.pool = pool;
        MaxContext = maxContext;
        this.reservedBlocks = reservedBlocks;
        this.onPoolUnused = onPoolUnused;
    }

    /// <summary>A sequence with a pool of its own, exactly big enough for <paramref name="maxContext"/> positions (tests, tools).</summary>
    public static LatentKvCache Standalone(IModelBackend backend, ModelConfig config, int maxContext, KvCacheFormat format = KvCacheFormat.Fp32)
    {
        var pool = new KvCachePool(backend, config, KvCachePool.BlocksFor(maxContext, KvCachePool.DefaultBlockSize), KvCachePool.DefaultBlockSize, format, keepWhenEmpty: false);
        var blocks = pool.BlocksFor(maxContext);
        pool.TryReserve(blocks);
        return new LatentKvCache(pool, maxContext, blocks, p => p.Dispose());
    }

    public int MaxContext { get; }

    public KvCacheFormat Format => pool.Format;

    /// <summary>The pool whose tensors hold this sequence's rows (sequences of one pool can share a launch).</summary>
    internal KvCachePool Pool => pool;

    /// <summary>Tokens whose keys are stored (positions 0..Length-1).</summary>
    public int Length { get; set; }

    /// <summary>The pool's tensors of layer <paramref name="layer"/>; this sequence's positions are the rows <see cref="Blocks"/> names.</summary>
    public KvCachePool.LayerCache this[int layer] => pool[layer];

    /// <summary>The block table covering every block taken so far (the same object until the sequence takes another block).</summary>
    public CacheBlocks Blocks => snapshot ??= new CacheBlocks([.. blocks], pool.BlockSize);

    /// <summary>Takes blocks from the reservation until positions 0 .. <paramref name="tokens"/> − 1 have rows.</summary>
    public void EnsureCapacity(int tokens)
    {
        if (tokens > MaxContext)
        {
            throw new InvalidOperationException($"{tokens} positions exceed the sequence's {MaxContext}");
        }

        var needed = pool.BlocksFor(tokens);
        while (blocks.Count < needed)
        {
            blocks.Add(pool.Take());
            snapshot = null;
        }
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (pool.Release(blocks, reservedBlocks) && !pool.KeepWhenEmpty)
        {
            onPoolUnused?.Invoke(pool);
        }

        blocks.Clear();
    }
}
