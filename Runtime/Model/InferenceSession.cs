using KernelSharp.Runtime.Generation;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// One sequence being run: its latent KV and indexer caches and the number of tokens in them.
/// Prefill may be called repeatedly (each call continues the sequence); Decode appends one token.
/// </summary>
public sealed class InferenceSession : ILogitsSession, IDisposable
{
    internal InferenceSession(DeepSeekModel model, LatentKvCache[] caches)
    {
        Model = model;
        Caches = caches;
    }

    /// <summary>Tokens in the cache.</summary>
    public int Length => Cache.Length;

    /// <summary>Most tokens the cache can hold.</summary>
    public int MaxContext => Cache.MaxContext;

    public int VocabSize => Model.Config.VocabSize;

    internal DeepSeekModel Model { get; }

    /// <summary>Rank 0's caches: the sequence's length and limits (every rank's caches advance in step with it).</summary>
    internal LatentKvCache Cache => Caches[0];

    /// <summary>The sequence's caches on every rank of the model, rank 0 first (each rank attends with its heads over the same latent).</summary>
    internal LatentKvCache[] Caches { get; }

    /// <summary>Runs <paramref name="tokens"/> after the cached ones; returns logits [tokens.Length × vocab], row-major.</summary>
    public float[] Prefill(ReadOnlySpan<int> tokens) => Prefill(tokens, trace: null);

    /// <summary>As <see cref="Prefill(ReadOnlySpan{int})"/>, recording intermediate values into <paramref name="trace"/> when given.</summary>
    public float[] Prefill(ReadOnlySpan<int> tokens, ForwardTrace? trace)
    {
        if (tokens.IsEmpty)
        {
            throw new UserInputException("prefill needs at least one token");
        }

        return Run(tokens, allRows: true, trace);
    }

    /// <summary>Appends tokens; returns the logits of the last one only [vocab] (no [T × vocab] matrix for long prompts).</summary>
    public float[] PrefillLast(ReadOnlySpan<int> tokens)
    {
        if (tokens.IsEmpty)
        {
            throw new UserInputException("prefill needs at least one token");
        }

        return Run(tokens, allRows: false, trace: null);
    }

    /// <summary>Appends one token; returns its logits [vocab].</summary>
    public float[] Decode(int token) => Run([token], allRows: true, trace: null);

    /// <summary>
    /// Appends one token and writes its logits into <paramref name="logits"/> [vocab]: what a generation loop calls, with
    /// one buffer for every step (a new vocabulary-sized array per token goes to the large-object heap, and at decode
    /// rates those arrays start a full garbage collection every few tokens).
    /// </summary>
    public void Decode(int token, Span<float> logits)
    {
        if (logits.Length != VocabSize)
        {
            throw new ArgumentException($"a decode step writes {VocabSize} logits; the destination holds {logits.Length}", nameof(logits));
        }

        ReadOnlySpan<int> tokens = [token];
        EnsureRoomFor(1);
        Model.RequireInVocabulary(tokens);
        Model.Run(tokens, [(this, 1)], allRows: true, trace: null, logits);
    }

    /// <summary>
    /// For benchmarks: puts <paramref name="depth"/> tokens of random keys into every layer's caches without running
    /// the model, as if a prompt of that length had been prefilled. Decode cost depends on how many keys are cached, not
    /// on their values (the indexer scores every key, attention reads index_topk of them), so this measures decode at
    /// 128K context in seconds instead of an O(depth²) prefill. Values are independent and uniform in [−√3, √3] (unit
    /// variance, the scale of the normalized latents and keys), so scores have no ties a real cache would not have.
    /// </summary>
    public void FillWithRandomKeys(int depth, int seed)
    {
        if (depth < 0 || depth > MaxContext)
        {
            throw new UserInputException($"a cache depth of {depth} tokens does not fit the session's {MaxContext}");
        }

        for (var rank = 0; rank < Caches.Length; rank++)
        {
            // Every rank gets the same keys: each attends over the same latent cache, as a single model would.
            Model.Ranks[rank].BindDevice();
            FillWithRandomKeys(Model.Ranks[rank].Backend, Caches[rank], depth, seed);
        }
    }

    private void FillWithRandomKeys(Backend.IModelBackend backend, LatentKvCache cache, int depth, int seed)
    {
        const int BlockRows = 4096;
        cache.EnsureCapacity(depth);
        var blocks = cache.Blocks;
        var state = (ulong)seed * 0x9E3779B97F4A7C15UL + 1;
        for (var layer = 0; layer < Model.Config.NumHiddenLayers; layer++)
        {
            var caches = cache[layer];
            foreach (var part in new[] { caches.Latent, caches.RopeKeys, caches.IndexKeys })
            {
                var values = new float[Math.Min(BlockRows, Math.Max(depth, 1)) * part.Columns]; // [block rows, columns]
                for (var start = 0; start < depth; start += BlockRows)
                {
                    var rows = Math.Min(BlockRows, depth - start);
                    FillUniform(values.AsSpan(0, rows * part.Columns), ref state);
                    var filled = rows * part.Columns == values.Length ? values : values[..(rows * part.Columns)]; // a copy only for the last, short block
                    using var block = backend.Upload(filled, rows, part.Columns);
                    foreach (var (row, offset, count) in blocks.Runs(start, rows))
                    {
                        backend.WriteRows(part, row, block, offset, count, 0); // the pool rows of positions start + offset ..
                    }
                }
            }
        }

        cache.Length = depth;
    }

    // xorshift64*: fast enough to fill gigabytes of cache at 128K context in a few seconds.
    private static void FillUniform(Span<float> values, ref ulong state)
    {
        var scale = (float)(2 * Math.Sqrt(3) / (1UL << 24));
        for (var i = 0; i < values.Length; i++)
        {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            var bits = (state * 0x2545F4914F6CDD1DUL) >> 40; // 24 random bits
            values[i] = bits * scale - (float)Math.Sqrt(3);
        }
    }

    /// <summary>
    /// Keeps the first <paramref name="length"/> tokens and forgets the rest, so a conversation can reuse the part of
    /// its cache that the next prompt shares. Positions are absolute and rows past Length are overwritten by the next
    /// run, so shortening the count is all it takes (the blocks stay with the sequence).
    /// </summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"the cache holds {Length} tokens");
        }

        SetLength(length);
    }

    /// <summary>Forgets every token (the cache memory is kept for reuse).</summary>
    public void Reset() => SetLength(0);

    public void Dispose()
    {
        foreach (var cache in Caches)
        {
            cache.Dispose();
        }
    }

    private void SetLength(int length)
    {
        foreach (var cache in Caches)
        {
            cache.Length = length;
        }
    }

    private float[] Run(ReadOnlySpan<int> tokens, bool allRows, ForwardTrace? trace)
    {
        EnsureRoomFor(tokens.Length);
        if (allRows && (long)tokens.Length * VocabSize > Array.MaxLength)
        {
            throw new UserInputException($"a prefill of {tokens.Length} tokens would return {tokens.Length} × {VocabSize} logits, more than one array holds; use PrefillLast or shorter chunks");
        }

        Model.RequireInVocabulary(tokens); // before any chunk runs, so a bad id never leaves a half-extended cache

        var chunk = Model.PrefillChunkTokens;
        if (trace is not null || tokens.Length <= chunk)
        {
            return RunChunk(tokens, allRows, trace);
        }

        // A long prompt runs in chunks: the cache makes chunked prefill exact, and the per-chunk buffers
        // ([chunk, keys] index scores, [chunk, H] activations) stay bounded.
        var logits = new List<float>(allRows ? tokens.Length * VocabSize : VocabSize);
        for (var start = 0; start < tokens.Length; start += chunk)
        {
            var part = tokens.Slice(start, Math.Min(chunk, tokens.Length - start));
            var rows = RunChunk(part, allRows, trace: null);
            if (allRows || start + part.Length == tokens.Length)
            {
                logits.AddRange(rows);
            }
        }

        return [.. logits];
    }

    // prefill: T new rows that attend to the cache and to each other (causally); decode: T = 1.
    private float[] RunChunk(ReadOnlySpan<int> tokens, bool allRows, ForwardTrace? trace)
    {
        return Model.Run(tokens, [(this, tokens.Length)], allRows, trace);
    }

    internal void EnsureRoomFor(int tokens)
    {
        if (Length + tokens > MaxContext)
        {
            throw new UserInputException($"the sequence would hold {Length + tokens} tokens but the session was created for at most {MaxContext}; create it with a larger maximum context");
        }

        foreach (var cache in Caches)
        {
            cache.EnsureCapacity(Length + tokens);
        }
    }
}
