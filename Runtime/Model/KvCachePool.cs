using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// One paged pool of KV caches: per layer the MLA latent c [rows, kv_lora_rank], the rotated k_pe [rows, rope] and the
/// indexer keys [rows, index_dim] (all in the pool's <see cref="KvCacheFormat"/>), cut into blocks of <see cref="BlockSize"/> rows. Sequences (<see cref="LatentKvCache"/>)
/// reserve blocks when they start and take them as they grow, so one batch's sequences share the same tensors and a
/// backend can run them in one launch; memory follows the tokens the sequences hold, not a maximum context each.
/// Thread-safe: sequences come and go on any thread.
/// </summary>
internal sealed class KvCachePool : IDisposable
{
    /// <summary>
    /// Rows per block: small enough that a sequence wastes little of its last block, large enough that a 128K-token
    /// block table stays 2 048 entries.
    /// </summary>
    public const int DefaultBlockSize = 64;

    private readonly LayerCache[] layers;
    private readonly Stack<int> freeBlocks;
    private readonly object gate = new();
    private int unreservedBlocks;
    private int sequences;
    private bool disposed;

    /// <param name="blocks">Blocks of <paramref name="blockSize"/> rows in every layer's tensors.</param>
    /// <param name="keepWhenEmpty">False for a pool made for one sequence: it frees its memory when its last sequence ends.</param>
    public KvCachePool(IModelBackend backend, ModelConfig config, int blocks, int blockSize, KvCacheFormat format, bool keepWhenEmpty)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blocks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        var rows = (long)blocks * blockSize;
        if (rows > int.MaxValue)
        {
            throw new UserInputException($"a KV cache of {rows} tokens is more than one pool holds ({int.MaxValue}); give less cache memory");
        }

        Backend = backend;
        Blocks = blocks;
        BlockSize = blockSize;
        Format = format;
        KeepWhenEmpty = keepWhenEmpty;
        unreservedBlocks = blocks;
        freeBlocks = new Stack<int>(Enumerable.Range(0, blocks).Reverse()); // block 0 first: a lone sequence's rows come out in order
        layers = new LayerCache[config.NumHiddenLayers];
        try
        {
            for (var i = 0; i < layers.Length; i++)
            {
                var (latent, ropeKeys) = backend.AllocateLatentCache((int)rows, config.KvLoraRank, config.QkRopeHeadDim, format); // [rows, kv_lora], [rows, rope]
                layers[i] = new LayerCache(latent, ropeKeys, backend.AllocateIndexKeyCache((int)rows, config.IndexHeadDim, format)); // index keys [rows, index_dim]
            }
        }
        catch
        {
            Dispose(); // a refused format (or no memory) must not leak the layers made before it
            throw;
        }
    }

    /// <summary>The backend whose memory holds the pool.</summary>
    public IModelBackend Backend { get; }

    public int Blocks { get; }

    public int BlockSize { get; }

    public KvCacheFormat Format { get; }

    /// <summary>False when the pool was made for one sequence and goes away with it.</summary>
    public bool KeepWhenEmpty { get; }

    /// <summary>Blocks that no sequence has reserved.</summary>
    public int UnreservedBlocks
    {
        get
        {
            lock (gate)
            {
                return unreservedBlocks;
            }
        }
    }

    /// <summary>Blocks that sequences hold now (taken, not only reserved).</summary>
    public int UsedBlocks
    {
        get
        {
            lock (gate)
            {
                return Blocks - freeBlocks.Count;
            }
        }
    }

    public LayerCache this[int layer] => layers[layer];

    /// <summary>Blocks needed for <paramref name="tokens"/> positions (at least one).</summary>
    public int BlocksFor(long tokens) => BlocksFor(tokens, BlockSize);

    public static int BlocksFor(long tokens, int blockSize) => checked((int)((Math.Max(tokens, 1) + blockSize - 1) / blockSize));

    /// <summary>A new sequence of up to <paramref name="maxContext"/> positions in this pool, or null when its blocks are not free.</summary>
    public LatentKvCache? TryOpen(int maxContext)
    {
        var blocks = BlocksFor(maxContext);
        return TryReserve(blocks) ? new LatentKvCache(this, maxContext, blocks, onPoolUnused: null) : null;
    }

    /// <summary>Sets <paramref name="blocks"/> aside for a new sequence, or returns false when they are not free.</summary>
    public bool TryReserve(int blocks)
    {
        lock (gate)
        {
            if (disposed || blocks > unreservedBlocks)
            {
                return false;
            }

            unreservedBlocks -= blocks;
            sequences++;
            return true;
        }
    }

    /// <summary>A free block for a sequence that reserved it.</summary>
    public int Take()
    {
        lock (gate)
        {
            return freeBlocks.Count > 0 ? freeBlocks.Pop() : throw new InvalidOperationException("the KV cache pool gave out more blocks than were reserved");
        }
    }

    /// <summary>A sequence ends: its blocks and the rest of its reservation return. Returns true when the pool is now unused.</summary>
    public bool Release(IReadOnlyList<int> blocks, int reserved)
    {
        lock (gate)
        {
            foreach (var block in blocks)
            {
                freeBlocks.Push(block);
            }

            unreservedBlocks += reserved;
            sequences--;
            return sequences == 0;
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
        }

        // A split model frees every rank's pool from one thread: each frees under its own device's context.
        (Backend as Kernels.KernelModelBackend)?.Device.Bind();
        foreach (var layer in layers.Where(layer => layer is not null))
        {
            layer.Latent.Dispose();
            layer.RopeKeys.Dispose();
            layer.IndexKeys.Dispose();
        }
    }

    /// <param name="Latent">[rows, kv_lora_rank]</param>
    /// <param name="RopeKeys">[rows, qk_rope_head_dim]</param>
    /// <param name="IndexKeys">[rows, index_head_dim]</param>
    internal sealed record LayerCache(Tensor Latent, Tensor RopeKeys, Tensor IndexKeys);
}
