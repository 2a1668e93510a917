using KernelSharp.Runtime.Devices;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Layers;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// A loaded DeepSeek-V3.2 (DSA) checkpoint, ready to run. Sequences are <see cref="InferenceSession"/>s, each with
/// its own latent KV cache; <see cref="DecodeBatch"/> advances several of them by one token in one pass.
/// </summary>
public sealed class DeepSeekModel : IDisposable
{
    private readonly IModelBackend backend;
    private readonly Transformer transformer;

    // Where the model lives and how much room the weights left there (sessions' caches are checked against it).
    private MemoryBudget memoryBudget = new(WeightStorage.Float32, long.MaxValue, string.Empty);
    private long loadedWeightBytes;

    private DeepSeekModel(ModelConfig config, IModelBackend backend, Transformer transformer, string deviceDescription, KvCacheFormat kvCacheFormat)
    {
        Config = config;
        this.backend = backend;
        this.transformer = transformer;
        DeviceDescription = deviceDescription;
        KvCacheFormat = kvCacheFormat;
    }

    public ModelConfig Config { get; }

    /// <summary>The backend the model runs on (benchmarks fill caches through it).</summary>
    internal IModelBackend Backend => backend;

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
    /// fit in memory, before anything is allocated.
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

        var maxContext = options.MaxContext ?? Math.Min(config.MaxPositionEmbeddings, 4096);
        var backend = DeviceSelector.CreateBackend(choice, options.PrefillMatmul);
        try
        {
            // Checked where the weights will live: device memory for a GPU (FP8 / bf16 as stored), host memory for the CPU (fp32).
            var budget = MemoryBudget.For(backend, config, options.AvailableMemoryBytes);
            var needed = MemoryEstimate.For(config, budget.Storage, maxContext, options.KvCache);
            if (needed.TotalBytes > budget.AvailableBytes)
            {
                throw new UserInputException(
                    $"{location}: the model needs {MemoryEstimate.Format(needed.TotalBytes)} ({MemoryEstimate.Format(needed.WeightBytes)} {budget.StorageName} weights + " +
                    $"{MemoryEstimate.Format(needed.CacheBytes)} cache for {maxContext} tokens) but only {MemoryEstimate.Format(budget.AvailableBytes)} is available{budget.Place}; " +
                    $"try {(synthetic ? "fewer layers (bench --layers)" : "a smaller model (create-model --layers)")}, a shorter maximum context, or a device with more memory");
            }

            // A cache format the backend cannot keep is refused now, in one line, rather than after the weights are read.
            new KvCachePool(backend, config with { NumHiddenLayers = 1 }, 1, 1, options.KvCache, keepWhenEmpty: false).Dispose();

            using IWeightSource source = options.SyntheticSeed is int seed
                ? new Synthetic.SyntheticWeightSource(config, seed, location)
                : new CheckpointWeightSource(Checkpoint.Open(directory, config.Quantization)); // FP8 block sizes from quantization_config
            var weights = new WeightLoader(source, backend, Transformer.TensorCount(config), options.Progress);
            var plan = options.Parallel is { } requested ? Distributed.ParallelPlan.For(requested.Rank, requested.Size, config) : Distributed.ParallelPlan.Single;
            var parallelism = new Distributed.ModelParallelism(backend, plan, options.Communicator);
            var transformer = new Transformer(backend, weights, config, parallelism);
            options.Progress?.Report(1.0);
            var description = backend.Description + PrefillNote(options.PrefillMatmul, backend)
                + (options.KvCache == KvCacheFormat.Fp8 ? "; FP8 KV cache (latent and index keys)" : string.Empty) + (synthetic ? $"; synthetic weights, seed {options.SyntheticSeed}" : string.Empty);
            return new DeepSeekModel(config, backend, transformer, description, options.KvCache)
            {
                memoryBudget = budget,
                loadedWeightBytes = needed.WeightBytes,
            };
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>What the description adds for the tensor-core prefill: that it is on, or that this backend has none.</summary>
    private static string PrefillNote(PrefillMatmul prefillMatmul, IModelBackend backend) => prefillMatmul switch
    {
        PrefillMatmul.Exact => string.Empty,
        _ when backend is Kernels.KernelModelBackend => "; prefill matmuls on bf16 tensor cores",
        _ => "; no tensor-core prefill on this backend, prefill stays fp32",
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
        return new SharedKvCache(new KvCachePool(backend, Config, KvCachePool.BlocksFor(tokens, blockSize), blockSize, KvCacheFormat, keepWhenEmpty: true));
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
            var cache = shared.Pool.TryOpen(maxContext)
                ?? throw new UserInputException($"a session of {maxContext} tokens needs {shared.BlocksFor(maxContext)} blocks of the shared KV cache but {shared.UnreservedBlocks} of {shared.Blocks} are free; wait for other sessions to end or use a shorter maximum context");
            return new InferenceSession(this, cache);
        }

        RequireCacheRoom(maxContext, "a session of");
        return new InferenceSession(this, LatentKvCache.Standalone(backend, Config, maxContext, KvCacheFormat));
    }

    /// <summary>Refuses, in one line, caches for <paramref name="tokens"/> positions that do not fit next to the weights.</summary>
    private void RequireCacheRoom(long tokens, string what)
    {
        var cacheBytes = MemoryEstimate.For(Config, memoryBudget.Storage, tokens, KvCacheFormat).CacheBytes;
        // A pool is one tensor per layer and cache part: on the CPU an array, so its rows × widest part must fit in one.
        var widest = Math.Max(Config.KvLoraRank, Config.IndexHeadDim);
        if (tokens * widest > Array.MaxLength || loadedWeightBytes + cacheBytes > memoryBudget.AvailableBytes)
        {
            throw new UserInputException(
                $"{what} {tokens} tokens needs {MemoryEstimate.Format(cacheBytes)} of caches, more than fits{(memoryBudget.Place.Length > 0 ? memoryBudget.Place : " in this machine's memory")} " +
                $"next to the {MemoryEstimate.Format(loadedWeightBytes)} of weights; " +
                "try a shorter maximum context");
        }
    }

    /// <summary>
    /// Appends tokens[b] to sessions[b] for every b in one forward pass (the linear layers see a [B, H] matrix; attention
    /// reads each sequence's own cache). Returns logits [B × vocab], row b for session b.
    /// </summary>
    public float[] DecodeBatch(IReadOnlyList<InferenceSession> sessions, ReadOnlySpan<int> tokens)
    {
        if (sessions.Count != tokens.Length)
        {
            throw new UserInputException($"DecodeBatch got {sessions.Count} sessions but {tokens.Length} tokens; give one token per session");
        }

        if (sessions.Distinct().Count() != sessions.Count)
        {
            throw new UserInputException("DecodeBatch got the same session twice; each sequence may advance by one token per call");
        }

        var batch = new ForwardBatch();
        foreach (var session in sessions)
        {
            if (session.Model != this)
            {
                throw new UserInputException("DecodeBatch got a session created by another model");
            }

            session.EnsureRoomFor(1);
            batch.Add(session.Cache, 1);
        }

        return Run(tokens, batch, allRows: true, trace: null);
    }

    public void Dispose() => backend.Dispose();

    /// <summary>
    /// One forward pass over the batch's rows → logits [rows × vocab] (or [sequences × vocab] for the last rows only);
    /// the new tokens join their caches.
    /// </summary>
    internal float[] Run(ReadOnlySpan<int> tokens, ForwardBatch batch, bool allRows, ForwardTrace? trace)
    {
        using var logits = transformer.Forward(tokens, batch, allRows, trace); // [T or B, V]
        batch.Commit();
        return backend.Download(logits);
    }
}
