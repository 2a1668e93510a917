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

    private DeepSeekModel(ModelConfig config, IModelBackend backend, Transformer transformer, string deviceDescription)
    {
        Config = config;
        this.backend = backend;
        this.transformer = transformer;
        DeviceDescription = deviceDescription;
    }

    public ModelConfig Config { get; }

    /// <summary>The backend the model runs on (benchmarks fill caches through it).</summary>
    internal IModelBackend Backend => backend;

    /// <summary>Where the model runs, in one line, including why when it is not where it was asked to run.</summary>
    public string DeviceDescription { get; }

    /// <summary>How every session's latent cache is stored (<see cref="ModelLoadOptions.KvCache"/>).</summary>
    public KvCacheFormat KvCacheFormat { get; private init; }

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
            new LatentKvCache(backend, config with { NumHiddenLayers = 1 }, 1, options.KvCache).Dispose();

            using IWeightSource source = options.SyntheticSeed is int seed
                ? new Synthetic.SyntheticWeightSource(config, seed, location)
                : new CheckpointWeightSource(Checkpoint.Open(directory, config.Quantization)); // FP8 block sizes from quantization_config
            var weights = new WeightLoader(source, backend, Transformer.TensorCount(config), options.Progress);
            var plan = options.Parallel is { } requested ? Distributed.ParallelPlan.For(requested.Rank, requested.Size, config) : Distributed.ParallelPlan.Single;
            var parallelism = new Distributed.ModelParallelism(backend, plan, options.Communicator);
            var transformer = new Transformer(backend, weights, config, parallelism);
            options.Progress?.Report(1.0);
            var description = backend.Description + PrefillNote(options.PrefillMatmul, backend)
                + (options.KvCache == KvCacheFormat.Fp8 ? "; FP8 latent cache" : string.Empty) + (synthetic ? $"; synthetic weights, seed {options.SyntheticSeed}" : string.Empty);
            return new DeepSeekModel(config, backend, transformer, description)
            {
                memoryBudget = budget,
                loadedWeightBytes = needed.WeightBytes,
                KvCacheFormat = options.KvCache,
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

    /// <summary>A new empty sequence whose caches hold up to <paramref name="maxContext"/> tokens.</summary>
    public InferenceSession CreateSession(int maxContext)
    {
        if (maxContext < 1)
        {
            throw new UserInputException($"the maximum context must be at least 1 token (got {maxContext})");
        }

        var cacheBytes = MemoryEstimate.For(Config, memoryBudget.Storage, maxContext, KvCacheFormat).CacheBytes;
        var widest = Math.Max(Config.KvLoraRank, Config.IndexHeadDim);
        if ((long)maxContext * widest > Array.MaxLength || loadedWeightBytes + cacheBytes > memoryBudget.AvailableBytes)
        {
            throw new UserInputException(
                $"a session of {maxContext} tokens needs {MemoryEstimate.Format(cacheBytes)} of caches, more than fits{(memoryBudget.Place.Length > 0 ? memoryBudget.Place : " in this machine's memory")} " +
                $"next to the {MemoryEstimate.Format(loadedWeightBytes)} of weights; " +
                "try a shorter maximum context");
        }

        return new InferenceSession(this, new LatentKvCache(backend, Config, maxContext, KvCacheFormat));
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
