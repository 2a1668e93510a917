using KernelSharp.Runtime.Devices;
using KernelSharp.Runtime.Distributed;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Layers;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// A loaded DeepSeek-V3.2 (DSA) checkpoint, ready to run. Sequences are <see cref="InferenceSession"/>s, each with
/// its own latent KV cache; <see cref="DecodeBatch"/> advances several of them by one token in one pass. A model split
/// over several ranks (<see cref="ModelLoadOptions.Ranks"/>, <see cref="ModelLoadOptions.Gpus"/>) looks the same from
/// outside: every step runs on all ranks at once and returns rank 0's logits, which every rank holds.
/// </summary>
public sealed class DeepSeekModel : IDisposable
{
    private readonly ModelRank[] ranks;    // rank 0 first
    private readonly RankThreads? threads; // one thread per rank beyond the caller's, when split
    private float[]? groupLogits; // rank 0's logits when split, reused by every step of the same size
    private string? groupFailure;          // set when a step failed on a rank of the group: the group cannot go on

    private DeepSeekModel(ModelConfig config, ModelRank[] ranks, RankThreads? threads, string deviceDescription, KvCacheFormat kvCacheFormat)
    {
        Config = config;
        this.ranks = ranks;
        this.threads = threads;
        DeviceDescription = deviceDescription;
        KvCacheFormat = kvCacheFormat;
    }

    public ModelConfig Config { get; }

    /// <summary>The backend of rank 0 (the whole model's, unless split; benchmarks fill caches through it).</summary>
    internal IModelBackend Backend => ranks[0].Backend;

    /// <summary>Every rank's share, rank 0 first (one for a model that is not split).</summary>
    internal IReadOnlyList<ModelRank> Ranks => ranks;

    /// <summary>Ranks the model is split over (1 unless loaded with <see cref="ModelLoadOptions.Ranks"/> or <see cref="ModelLoadOptions.Gpus"/>).</summary>
    public int RankCount => ranks.Length;

    /// <summary>Where the model runs, in one line, including why when it is not where it was asked to run.</summary>
    public string DeviceDescription { get; }

    /// <summary>How every session's latent cache is stored (<see cref="ModelLoadOptions.KvCache"/>).</summary>
    public KvCacheFormat KvCacheFormat { get; }

    /// <summary>Longest piece of a prompt run in one forward pass; longer prefills are split (same result, bounded memory).</summary>
    internal int PrefillChunkTokens { get; set; } = 2048;

    /// <summary>
    /// Loads <c>config.json</c> and the weights (<c>model.safetensors</c> or a sharded index) from <paramref name="directory"/>;
    /// with <see cref="ModelLoadOptions.SyntheticSeed"/>, <paramref name="directory"/> is the config.json (or its folder;
    /// only a name for messages when <see cref="ModelLoadOptions.Config"/> is given) and the weights are generated instead.
    /// Refuses with a one-line <see cref="UserInputException"/> naming the model when the weights and caches would not
    /// fit in memory (each rank's share on its device), before any weight is read.
    /// </summary>
    public static DeepSeekModel Load(string directory, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        var synthetic = options.SyntheticSeed is not null;
        // A synthetic model given its parsed config needs no file at all; else its path names the config.json (or its folder).
        var location = synthetic && options.Config is null ? Synthetic.SyntheticModels.ConfigPath(directory) : directory;
        var config = options.Config ?? ModelConfig.Load(synthetic ? location : Path.Combine(directory, "config.json"));
        if (synthetic)
        {
            // A checkpoint of a config the model cannot run fails on a missing tensor; a synthetic model would be generated
            // from it all the same, so the config's own rules refuse it here, naming the field.
            ModelConfigValidator.ValidateRunnable(config, location);
        }

        var choice = new DeviceSelector().Select(options.Device);
        var group = RankGroupPlan.For(options, choice, config);
        var maxContext = options.MaxContext ?? Math.Min(config.MaxPositionEmbeddings, 4096);
        var ranks = new ModelRank[group.Size];
        var threads = group.Size > 1 ? new RankThreads(group.Size) : null;
        try
        {
            for (var r = 0; r < ranks.Length; r++)
            {
                var backend = options.TestBackend?.Invoke() ?? DeviceSelector.CreateBackend(choice, options.PrefillMatmul, group.Gpu(r));
                try
                {
                    // Checked where the weights will live: device memory for a GPU, host memory for the CPU (FP8 / bf16 as stored).
                    var budget = MemoryBudget.For(backend, config, options.AvailableMemoryBytes);
                    var needed = MemoryEstimate.For(config, budget.Storage, maxContext, options.KvCache, group.Plan(r), budget.EmbeddingAsStored);
                    if (needed.TotalBytes > budget.AvailableBytes)
                    {
                        throw new UserInputException(
                            $"{location}: {group.Whose(r)}needs {MemoryEstimate.Format(needed.TotalBytes)} ({MemoryEstimate.Format(needed.WeightBytes)} {budget.StorageName} weights + " +
                            $"{MemoryEstimate.Format(needed.CacheBytes)} cache for {maxContext} tokens) but only {MemoryEstimate.Format(budget.AvailableBytes)} is available{budget.Place}; " +
                            $"try {(synthetic ? "fewer layers (bench --layers)" : "a smaller model (create-model --layers)")}, a shorter maximum context, {(group.Size > 1 || choice.Device is not ComputeDevice.Cuda ? string.Empty : "more GPUs (--gpus), ")}or a device with more memory");
                    }

                    ranks[r] = new ModelRank(backend, budget, needed.WeightBytes);
                }
                catch
                {
                    backend.Dispose();
                    throw;
                }
            }

            // A cache format the backend cannot keep is refused now, in one line, rather than after the weights are read.
            new KvCachePool(ranks[0].Backend, config with { NumHiddenLayers = 1 }, 1, 1, options.KvCache, keepWhenEmpty: false).Dispose();

            group.Connect(ranks, threads);
            RankThreads.OnEvery(threads, r =>
            {
                ranks[r].BindDevice();
                using IWeightSource source = options.SyntheticSeed is int seed
                    ? new Synthetic.SyntheticWeightSource(config, seed, location)
                    : new CheckpointWeightSource(Checkpoint.Open(directory, config.Quantization)); // FP8 block sizes from quantization_config
                var weights = new WeightLoader(source, ranks[r].Backend, Transformer.TensorCount(config), r == 0 ? options.Progress : null);
                ranks[r].Transformer = new Transformer(ranks[r].Backend, weights, config, new ModelParallelism(group.Plan(r), ranks[r].Exchange));
                return true;
            }, abort: () => { });
            options.Progress?.Report(1.0);
            var description = ranks[0].Backend.Description + group.Description + PrefillNote(options.PrefillMatmul, ranks[0].Backend)
                + (options.KvCache == KvCacheFormat.Fp8 ? "; FP8 KV cache (latent and index keys)" : string.Empty) + (synthetic ? $"; synthetic weights, seed {options.SyntheticSeed}" : string.Empty);
            return new DeepSeekModel(config, ranks, threads, description, options.KvCache);
        }
        catch
        {
            threads?.Dispose();
            foreach (var rank in ranks)
            {
                rank?.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// What the description adds for the prefill's matmuls: that they run on bf16 tensor cores, that tensor cores were
    /// asked for on a backend without them, or nothing (fp32, whether asked for or the device's default).
    /// </summary>
    private static string PrefillNote(PrefillMatmul? asked, IModelBackend backend) => backend switch
    {
        Kernels.KernelModelBackend { PrefillMatmul: PrefillMatmul.TensorCores } => "; prefill matmuls on bf16 tensor cores",
        _ when asked == PrefillMatmul.TensorCores => "; no tensor-core prefill on this backend, prefill stays fp32",
        _ => string.Empty,
    };

    /// <summary>
    /// A paged KV cache of <paramref name="tokens"/> positions (rounded up to whole blocks) for many sessions at once
    /// (a server's KV memory): see <see cref="SharedKvCache"/>. Refused in one line when it does not fit next to the weights.
    /// </summary>
    public SharedKvCache CreateSharedKvCache(long tokens) => CreateSharedKvCache(tokens, KvCachePool.DefaultBlockSize);

    /// <summary>
    /// Positions a shared KV cache needs so that <paramref name="sessions"/> sessions of up to <paramref name="maxContext"/>
    /// positions each fit at once (each reserves whole blocks).
    /// </summary>
    public static long KvCacheTokensFor(int sessions, int maxContext) =>
        (long)sessions * KvCachePool.BlocksFor(maxContext, KvCachePool.DefaultBlockSize) * KvCachePool.DefaultBlockSize;

    /// <summary>As <see cref="CreateSharedKvCache(long)"/> with blocks of <paramref name="blockSize"/> positions (tests use tiny ones).</summary>
    internal SharedKvCache CreateSharedKvCache(long tokens, int blockSize)
    {
        if (tokens < 1)
        {
            throw new UserInputException($"the KV cache must hold at least 1 token (got {tokens})");
        }

        RequireCacheRoom(tokens, "a KV cache of");
        var blocks = KvCachePool.BlocksFor(tokens, blockSize);
        var pools = new List<KvCachePool>(ranks.Length);
        try
        {
            foreach (var rank in ranks)
            {
                pools.Add(new KvCachePool(rank.Backend, Config, blocks, blockSize, KvCacheFormat, keepWhenEmpty: true));
            }
        }
        catch
        {
            pools.ForEach(p => p.Dispose());
            throw;
        }

        return new SharedKvCache(pools);
    }

    /// <summary>
    /// A new empty sequence whose caches hold up to <paramref name="maxContext"/> tokens: in <paramref name="shared"/>
    /// (its blocks reserved there; refused in one line when they are not free), or in caches of its own, freed with it.
    /// </summary>
    public InferenceSession CreateSession(int maxContext, SharedKvCache? shared = null)
    {
        if (maxContext < 1)
        {
            throw new UserInputException($"the maximum context must be at least 1 token (got {maxContext})");
        }

        if (shared is not null)
        {
            if (shared.Pools.Count != ranks.Length || shared.Pools.Select(p => p.Backend).Zip(ranks).Any(pair => pair.First != pair.Second.Backend))
            {
                throw new UserInputException("the shared KV cache was created by another model");
            }

            var caches = shared.TryOpen(maxContext)
                ?? throw new UserInputException($"a session of {maxContext} tokens needs {shared.BlocksFor(maxContext)} blocks of the shared KV cache but {shared.UnreservedBlocks} of {shared.Blocks} are free; wait for other sessions to end or use a shorter maximum context");
            return new InferenceSession(this, caches);
        }

        RequireCacheRoom(maxContext, "a session of");
        return new InferenceSession(this, ranks.Select(rank => LatentKvCache.Standalone(rank.Backend, Config, maxContext, KvCacheFormat)).ToArray());
    }

    /// <summary>Refuses, in one line, caches for <paramref name="tokens"/> positions that do not fit next to the weights (on any rank).</summary>
    private void RequireCacheRoom(long tokens, string what)
    {
        foreach (var rank in ranks)
        {
            var cacheBytes = MemoryEstimate.For(Config, rank.Budget.Storage, tokens, KvCacheFormat).CacheBytes;
            // A pool is one tensor per layer and cache part: on the CPU an array, so its rows × widest part must fit in one.
            var widest = Math.Max(Config.KvLoraRank, Config.IndexHeadDim);
            if (tokens * widest > Array.MaxLength || rank.WeightBytes + cacheBytes > rank.Budget.AvailableBytes)
            {
                throw new UserInputException(
                    $"{what} {tokens} tokens needs {MemoryEstimate.Format(cacheBytes)} of caches, more than fits{(rank.Budget.Place.Length > 0 ? rank.Budget.Place : " in this machine's memory")} " +
                    $"next to the {MemoryEstimate.Format(rank.WeightBytes)} of weights; " +
                    "try a shorter maximum context");
            }
        }
    }

    /// <summary>
    /// Counters of the kernel backends, summed over the ranks: device allocations made and idle buffers freed by their
    /// buffer pools, and kernels compiled; all three stay flat once the steps being run are warm. Zeros for a backend
    /// without them. For benchmarks: a repetition that allocates, frees or compiles is paying for more than its kernels.
    /// </summary>
    public (long Allocations, long Frees, long KernelsCompiled) BackendCounters()
    {
        long allocations = 0, frees = 0, compiled = 0;
        foreach (var rank in ranks)
        {
            if (rank.Backend is Kernels.KernelModelBackend kernels)
            {
                allocations += kernels.Storage.Pool.AllocationCount;
                frees += kernels.Storage.Pool.FreedCount;
                compiled += kernels.Device.CachedKernelCount;
            }
        }

        return (allocations, frees, compiled);
    }

    /// <summary>
    /// Device memory in use on the GPUs the model runs on (every process's, as the driver reports it: total − free,
    /// summed over the ranks' GPUs); null where the model runs in host memory or on a GPU whose driver does not say.
    /// </summary>
    public long? DeviceMemoryInUseBytes()
    {
        long used = 0;
        foreach (var rank in ranks)
        {
            if (rank.Backend is not Kernels.KernelModelBackend { Device.Accelerator: ILGPU.Runtime.Cuda.CudaAccelerator cuda } kernels)
            {
                return null;
            }

            kernels.Device.Bind();
            used += cuda.MemorySize - cuda.GetFreeMemory();
        }

        return used;
    }

    /// <summary>
    /// Appends tokens[b] to sessions[b] for every b in one forward pass (the linear layers see a [B, H] matrix; attention
    /// reads each sequence's own cache). Returns logits [B × vocab], row b for session b.
    /// </summary>
    public float[] DecodeBatch(IReadOnlyList<InferenceSession> sessions, ReadOnlySpan<int> tokens)
    {
        var logits = new float[(long)tokens.Length * Config.VocabSize];
        DecodeBatch(sessions, tokens, logits);
        return logits;
    }

    /// <summary>
    /// As <see cref="DecodeBatch(IReadOnlyList{InferenceSession}, ReadOnlySpan{int})"/>, writing the logits [B × vocab]
    /// into <paramref name="logits"/>: a serving loop keeps one such buffer instead of a new 33 MB array per step at
    /// batch 64 (vocabulary-sized arrays go to the large-object heap, whose growth starts full garbage collections).
    /// </summary>
    public void DecodeBatch(IReadOnlyList<InferenceSession> sessions, ReadOnlySpan<int> tokens, Span<float> logits)
    {
        if (sessions.Count != tokens.Length)
        {
            throw new UserInputException($"DecodeBatch got {sessions.Count} sessions but {tokens.Length} tokens; give one token per session");
        }

        if ((long)logits.Length != (long)tokens.Length * Config.VocabSize)
        {
            throw new ArgumentException($"DecodeBatch of {tokens.Length} sequences writes {tokens.Length} × {Config.VocabSize} logits; the destination holds {logits.Length}", nameof(logits));
        }

        var sequences = new List<(InferenceSession Session, int Rows)>(sessions.Count);
        foreach (var session in sessions)
        {
            RequireOwnAndNew(session, sequences, "DecodeBatch", "each sequence may advance by one token per call");
            sequences.Add((session, 1));
        }

        RequireInVocabulary(tokens);
        foreach (var session in sessions)
        {
            session.EnsureRoomFor(1);
        }

        Run(tokens, sequences, allRows: true, trace: null, logits);
    }

    /// <summary>
    /// Appends each part's tokens to its session, all in one forward pass (each sequence's rows attend to its own cache
    /// and to each other, causally; the linear layers read their weights once for every row), and writes the logits that
    /// follow each part's last token into <paramref name="lastLogits"/> [parts × vocab], row i for part i. What a server
    /// does with the prompt chunks of a step: one pass instead of one per sequence.
    /// </summary>
    public void PrefillBatch(IReadOnlyList<(InferenceSession Session, ReadOnlyMemory<int> Tokens)> parts, Span<float> lastLogits)
    {
        if ((long)lastLogits.Length != (long)parts.Count * Config.VocabSize)
        {
            throw new ArgumentException($"PrefillBatch of {parts.Count} sequences writes {parts.Count} × {Config.VocabSize} logits; the destination holds {lastLogits.Length}", nameof(lastLogits));
        }

        var sequences = new List<(InferenceSession Session, int Rows)>(parts.Count);
        var rows = 0;
        foreach (var (session, tokens) in parts)
        {
            RequireOwnAndNew(session, sequences, "PrefillBatch", "give each sequence's tokens as one part");
            if (tokens.IsEmpty)
            {
                throw new UserInputException("PrefillBatch got a part without tokens; each part needs at least one");
            }

            RequireInVocabulary(tokens.Span);
            session.EnsureRoomFor(tokens.Length); // every part checked before any runs: a refused part leaves every cache as it was
            sequences.Add((session, tokens.Length));
            rows += tokens.Length;
        }

        if (sequences.Count == 0)
        {
            return;
        }

        if (rows > PrefillChunkTokens)
        {
            // More rows than one pass's buffers are sized for: each part on its own, a long one in chunks.
            for (var i = 0; i < parts.Count; i++)
            {
                parts[i].Session.PrefillLast(parts[i].Tokens.Span).CopyTo(lastLogits.Slice(i * Config.VocabSize, Config.VocabSize));
            }

            return;
        }

        var all = new int[rows]; // [Σ tokens] the parts one after another, as the pass's rows
        var next = 0;
        foreach (var (_, tokens) in parts)
        {
            tokens.Span.CopyTo(all.AsSpan(next));
            next += tokens.Length;
        }

        Run(all, sequences, allRows: false, trace: null, lastLogits);
    }

    /// <summary>Refuses a session of another model, or one already among <paramref name="taken"/>, in one line naming <paramref name="caller"/>.</summary>
    private void RequireOwnAndNew(InferenceSession session, List<(InferenceSession Session, int Rows)> taken, string caller, string rule)
    {
        if (session.Model != this)
        {
            throw new UserInputException($"{caller} got a session created by another model");
        }

        foreach (var (other, _) in taken)
        {
            if (ReferenceEquals(other, session))
            {
                throw new UserInputException($"{caller} got the same session twice; {rule}");
            }
        }
    }

    public void Dispose()
    {
        threads?.Dispose();
        foreach (var rank in ranks)
        {
            rank.Dispose();
        }
    }

    /// <summary>
    /// One forward pass over the rows of <paramref name="sequences"/> (each session's next <c>Rows</c> tokens, in order)
    /// → logits [rows × vocab] (or [sequences × vocab] for the last rows only); the new tokens join their caches.
    /// </summary>
    /// <remarks>Callers check the tokens first (<see cref="RequireInVocabulary"/>): a group of ranks must not stop half-way.</remarks>
    internal float[] Run(ReadOnlySpan<int> tokens, IReadOnlyList<(InferenceSession Session, int Rows)> sequences, bool allRows, ForwardTrace? trace)
    {
        var logits = new float[(long)(allRows ? tokens.Length : sequences.Count) * Config.VocabSize];
        Run(tokens, sequences, allRows, trace, logits);
        return logits;
    }

    /// <summary>As <see cref="Run(ReadOnlySpan{int}, IReadOnlyList{ValueTuple{InferenceSession, int}}, bool, ForwardTrace?)"/>, into <paramref name="logits"/> of exactly that size.</summary>
    internal void Run(ReadOnlySpan<int> tokens, IReadOnlyList<(InferenceSession Session, int Rows)> sequences, bool allRows, ForwardTrace? trace, Span<float> logits)
    {
        if (threads is null)
        {
            RunRank(0, tokens, sequences, allRows, trace, logits);
            return;
        }

        if (groupFailure is not null)
        {
            throw new InvalidOperationException($"a rank of this model failed in an earlier step ({groupFailure}), which stops its whole group; load the model again");
        }

        // The rank threads cannot share the caller's spans: the tokens are copied to them, and rank 0 downloads the logits
        // into a buffer of the model's (reused across steps), copied out once the group is done.
        var copied = tokens.ToArray();
        if (groupLogits is null || groupLogits.Length != logits.Length)
        {
            groupLogits = new float[logits.Length];
        }

        var destination = groupLogits;
        try
        {
            threads.Run(r =>
            {
                RunRank(r, copied, sequences, allRows, r == 0 ? trace : null, r == 0 ? destination : Span<float>.Empty);
                return true;
            }, AbortGroup);
        }
        catch (Exception e)
        {
            groupFailure ??= e.Message;
            throw;
        }

        destination.CopyTo(logits);
    }

    private void RunRank(int rank, ReadOnlySpan<int> tokens, IReadOnlyList<(InferenceSession Session, int Rows)> sequences, bool allRows, ForwardTrace? trace, Span<float> logits)
    {
        ranks[rank].BindDevice();
        var batch = new ForwardBatch();
        foreach (var (session, rows) in sequences)
        {
            batch.Add(session.Caches[rank], rows);
        }

        using var output = ranks[rank].Transformer.Forward(tokens, batch, allRows, trace); // [T or B, V]
        batch.Commit();
        // Every rank ends with the same logits (gathered over the group); rank 0's are the model's answer.
        if (rank == 0)
        {
            ranks[rank].Backend.Download(output, logits);
        }
    }

    /// <summary>Makes the ranks waiting in a collective leave it (a rank failed and will never arrive).</summary>
    private void AbortGroup()
    {
        foreach (var rank in ranks)
        {
            rank.Exchange?.Abort();
        }
    }

    /// <summary>Refuses, in one line, a token id outside the vocabulary, before any of a step's work.</summary>
    internal void RequireInVocabulary(ReadOnlySpan<int> tokens)
    {
        foreach (var token in tokens)
        {
            if ((uint)token >= (uint)Config.VocabSize)
            {
                throw new UserInputException($"token id {token} is outside the vocabulary [0, {Config.VocabSize})");
            }
        }
    }
}
