using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;

namespace KernelSharp.Cli.Verbs;

/// <summary>
/// <c>kernelsharp bench</c>, after llama-bench: pp = prompt processing (one prefill of -p random tokens),
/// tg = text generation (-n single-token decode steps from an empty cache), each repeated -r times; mean ± sd in tokens/s.
/// With <c>--synthetic CONFIG</c> the model is built from its config.json alone, weights generated from <c>--seed</c> on
/// the device (<see cref="SyntheticModel"/>): a model whose checkpoint is not on this machine, measured all the same.
/// </summary>
public sealed class BenchVerb : IVerb
{
    public bool StopsCleanlyOnCtrlC => true;

    public VerbSpec Spec { get; } = new(
        "bench",
        "Measure prompt-processing and generation throughput (llama-bench style table).",
        "(-m DIR | --synthetic CONFIG [--seed N] [--layers N]) [-p N] [-n N] [-r N] [options]",
        "ppN: one prefill of N random tokens. tgN: N decode steps of one token each, after -d tokens already in the cache\n" +
        "(put there untimed, see --depth-fill; 0 = an empty cache). KS_PROFILE=1 adds a per-kernel time profile on stderr.\n" +
        "Each test runs -r times after one warm-up; the table shows mean ± standard deviation in tokens/s.\n" +
        "--synthetic measures a model without its checkpoint: weights generated from --seed on the device, in the formats\n" +
        "and distributions of create-model (FP8 where quantization_config says so, else bf16); no safetensors or tokenizer.",
        [
            SharedOptions.Model,
            OptionSpec.Value("synthetic", "CONFIG", "build the model from this config.json alone (or a preset: tiny, mid-5b, deepseek-v3.2), with weights generated on the device instead of read (instead of -m)"),
            OptionSpec.Value("seed", "N", "seed of the --synthetic weights, >= 0 (default: 0)"),
            OptionSpec.Value("layers", "N", "--synthetic only: keep every width of the config but only its first N layers (the first_k_dense_replace dense ones first), 1 … the config's layer count (default: all)"),
            OptionSpec.Value("n-prompt", "N", "prompt tokens for the pp test, 0 = skip (default: 512)", "p"),
            OptionSpec.Value("n-gen", "N", "generated tokens for the tg test, 0 = skip (default: 128)", "n"),
            OptionSpec.Value("repetitions", "N", "repetitions of each test, 1 … 100 (default: 3)", "r"),
            OptionSpec.Value("n-depth", "N[,N...]", "tokens in the cache before the tg test, untimed; a list runs one tg test per depth (default: 0)", "d"),
            OptionSpec.Value("batch", "N[,N...]", "sequences decoded together in each tg step (one batched pass per step, each with its own cache at depth -d); a list runs one tg test per batch size; t/s is then the aggregate and the test names the time per step, i.e. each sequence's time per token (default: 1)", "b"),
            OptionSpec.Value("depth-fill", "HOW", "how the -d tokens get into the cache: prefill (run the model, untimed) or random (random keys written straight into the caches: decode at long context without an O(d²) prefill) (default: prefill)"),
            OptionSpec.Value("ctx-size", "N", "context the session reserves (default: max(-p, -d + -n))", "c"),
            SharedOptions.Device,
            SharedOptions.Gpus,
            SharedOptions.Prefill,
            SharedOptions.KvCache,
            OptionSpec.Flag("json", "print JSON instead of a markdown table"),
        ]);

    public int Run(ParsedArguments args, CliContext context)
    {
        int promptTokens = args.Int("n-prompt", 512, 0, SamplingArguments.MaxTokensLimit);
        int generatedTokens = args.Int("n-gen", 128, 0, SamplingArguments.MaxTokensLimit);
        int repetitions = args.Int("repetitions", 3, 1, 100);
        int[] depths = Depths(args.String("n-depth"));
        int[] batchSizes = args.Has("batch") ? args.IntList("batch", 1, 1024) : [1];
        DevicePlacement placement = DevicePlacement.Read(args);
        PrefillMatmul? prefill = SharedOptions.ReadPrefill(args);
        KvCacheFormat kvCache = SharedOptions.ReadKvCache(args);
        string depthFill = args.Choice("depth-fill", "prefill", "prefill", "random");
        if (promptTokens == 0 && generatedTokens == 0)
        {
            throw new UsageException("-p and -n are both 0: nothing to measure");
        }

        BenchModel bench = OpenModel(args);
        ModelConfig config = bench.Config;
        int needed = Math.Max(promptTokens, depths.Max() + generatedTokens);
        int maxContext = config.MaxPositionEmbeddings;
        if (needed > maxContext)
        {
            throw new UsageException($"-p/-d/-n need {needed} tokens, more than the model's context of {maxContext}");
        }
        int contextSize = args.Int("ctx-size", needed, needed, maxContext);

        using DeepSeekModel model = bench.Load(placement, contextSize, context, prefill, kvCache);
        DeviceMemory? memory = DeviceMemory.Measure(model, contextSize);
        var random = new Random(1234);
        var results = new List<BenchResult>();
        if (promptTokens > 0)
        {
            int[] tokens = Enumerable.Range(0, promptTokens).Select(_ => random.Next(config.VocabSize)).ToArray();
            results.Add(Measure($"pp{promptTokens}", promptTokens, repetitions, model, context, () =>
            {
                using InferenceSession session = model.CreateSession(contextSize);
                return Time(() => session.PrefillLast(tokens), profiled: true); // logits of the last row only, as generation needs
            }));
        }
        foreach (int depth in generatedTokens > 0 ? depths : [])
        {
            int[] tokens = Enumerable.Range(0, generatedTokens).Select(_ => random.Next(config.VocabSize)).ToArray();
            int[] prefix = Enumerable.Range(0, depth).Select(_ => random.Next(config.VocabSize)).ToArray();
            string test = depth == 0 ? $"tg{generatedTokens}" : $"tg{generatedTokens} @ d{depth}" + (depthFill == "random" ? " (random keys)" : "");
            foreach (int batch in batchSizes)
            {
                results.Add(batch == 1
                    ? Measure(test, generatedTokens, repetitions, model, context, () => DecodeAlone(model, contextSize, prefix, depthFill, tokens, context))
                    : MeasureBatch(test, batch, generatedTokens, repetitions, model, context, () => DecodeBatched(model, contextSize, batch, prefix, depthFill, tokens, context)));
            }
        }

        var summary = new BenchSummary(bench.Name, model.DeviceDescription, config, bench.Parameters.Total, bench.Parameters.ActivePerToken, bench.WeightBytes, contextSize, kvCache)
        {
            Memory = memory,
        };
        context.Out.Write(args.Flag("json") ? Json(summary, results) : Markdown(summary, results));
        return ExitCodes.Success;
    }

    /// <summary>What bench measures: a model folder (-m), or a synthetic model (--synthetic), with its size for the table.</summary>
    private sealed record BenchModel(string Name, ModelConfig Config, ParameterCount Parameters, long WeightBytes, Func<DevicePlacement, int, CliContext, PrefillMatmul?, KvCacheFormat, DeepSeekModel> Load);

    private static BenchModel OpenModel(ParsedArguments args)
    {
        string? syntheticConfig = args.String("synthetic");
        if (syntheticConfig is null)
        {
            if (args.Has("seed") || args.Has("layers"))
                throw new UsageException($"{(args.Has("seed") ? "--seed" : "--layers")} applies to --synthetic models only; a model folder is measured as its checkpoint is");
            if (!args.Has("model"))
                throw new UsageException("-m/--model DIR is required (or --synthetic CONFIG to measure a model without its checkpoint)");
            ModelFolder folder = ModelFolder.Open(args.RequiredString("model"));
            using Checkpoint checkpoint = Checkpoint.Open(folder.Directory, folder.Config.Quantization);
            return new BenchModel(folder.Name, folder.Config, ParameterCount.From(checkpoint, folder.Config), checkpoint.TotalBytes, folder.LoadModel);
        }

        if (args.Has("model"))
            throw new UsageException("give -m DIR or --synthetic CONFIG, not both");
        SyntheticModel synthetic = SyntheticModel.Open(syntheticConfig, args.Int("seed", 0, 0, int.MaxValue));
        if (args.Has("layers"))
            synthetic = synthetic.FirstLayers(args.Int("layers", synthetic.Config.NumHiddenLayers, 1, synthetic.Config.NumHiddenLayers));
        return new BenchModel(synthetic.Name, synthetic.Config, ParameterCount.FromLayout(synthetic.Config),
            Runtime.Model.Synthetic.SyntheticModels.CheckpointBytes(synthetic.Config), synthetic.LoadModel);
    }

    /// <summary>One sequence: <paramref name="tokens"/> decode steps after the untimed prefix; returns the decode time.</summary>
    private static TimeSpan DecodeAlone(DeepSeekModel model, int contextSize, int[] prefix, string depthFill, int[] tokens, CliContext context)
    {
        using InferenceSession session = Filled(model, contextSize, prefix, depthFill, seed: 1234);
        var logits = new float[model.Config.VocabSize]; // one buffer for every step, as the generation loop keeps it
        return Time(() =>
        {
            foreach (int token in tokens)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                session.Decode(token, logits);
            }
        }, profiled: true);
    }

    /// <summary>
    /// <paramref name="batch"/> sequences, each filled to the prefix's depth (untimed, each with its own keys), then one
    /// <see cref="DeepSeekModel.DecodeBatch"/> per step over all of them: the decode steps of a server's full batch.
    /// </summary>
    private static TimeSpan DecodeBatched(DeepSeekModel model, int contextSize, int batch, int[] prefix, string depthFill, int[] tokens, CliContext context)
    {
        var sessions = new List<InferenceSession>(batch);
        // one paged cache for the batch, as the server keeps it: the sequences' attention then shares launches
        using var kvCache = model.CreateSharedKvCache(DeepSeekModel.KvCacheTokensFor(batch, contextSize));
        try
        {
            for (int b = 0; b < batch; b++)
            {
                sessions.Add(Filled(model, contextSize, prefix, depthFill, seed: 1234 + b, kvCache));
            }

            var step = new int[batch];
            var logits = new float[batch * model.Config.VocabSize]; // [batch × vocab], one buffer for every step, as the server keeps it
            return Time(() =>
            {
                for (int i = 0; i < tokens.Length; i++)
                {
                    context.Cancellation.ThrowIfCancellationRequested();
                    for (int b = 0; b < batch; b++)
                    {
                        step[b] = tokens[(i + b) % tokens.Length]; // different tokens per sequence, as real requests have
                    }
                    model.DecodeBatch(sessions, step, logits);
                }
            }, profiled: true);
        }
        finally
        {
            sessions.ForEach(s => s.Dispose());
        }
    }

    private static InferenceSession Filled(DeepSeekModel model, int contextSize, int[] prefix, string depthFill, int seed, SharedKvCache? kvCache = null)
    {
        InferenceSession session = model.CreateSession(contextSize, kvCache);
        if (prefix.Length > 0 && depthFill == "random")
            session.FillWithRandomKeys(prefix.Length, seed); // untimed: the cache depth the decode steps run at
        else if (prefix.Length > 0)
            session.PrefillLast(prefix); // untimed
        return session;
    }

    /// <summary>A batched tg test: t/s counts every sequence's tokens; the name carries the time per step (each sequence's time per token).</summary>
    private static BenchResult MeasureBatch(string test, int batch, int steps, int repetitions, DeepSeekModel model, CliContext context, Func<TimeSpan> run)
    {
        BenchResult measured = Measure(test, steps * batch, repetitions, model, context, run);
        double msPerStep = 1000.0 * batch / measured.Mean;
        return measured with { Test = string.Create(CultureInfo.InvariantCulture, $"{test} b{batch} ({msPerStep:F2} ms/token/seq)"), Batch = batch };
    }

    private sealed record BenchSummary(string Model, string Device, ModelConfig Config, long Parameters, long ActiveParameters, long WeightBytes, int ContextSize,
        KvCacheFormat KvCache)
    {
        /// <summary>Cache bytes one more token of context costs, every layer (latent cache in <see cref="KvCache"/> + fp32 index keys).</summary>
        public long CacheBytesPerToken => MemoryEstimate.CacheBytesPerToken(Config, KvCache);

        /// <summary>What the GPU driver reported before the measurements; null on the CPU.</summary>
        public DeviceMemory? Memory { get; init; }
    }

    /// <summary>
    /// Device memory as the driver reports it (cuMemGetInfo), measured before any step runs: after the weights are loaded,
    /// and with one session of the whole context allocated, whose difference is what a token of context costs on the device.
    /// </summary>
    private sealed record DeviceMemory(long AfterLoadBytes, long WithSessionBytes, int SessionTokens)
    {
        public double BytesPerToken => (WithSessionBytes - AfterLoadBytes) / (double)SessionTokens;

        public static DeviceMemory? Measure(DeepSeekModel model, int contextSize)
        {
            if (model.DeviceMemoryInUseBytes() is not long afterLoad)
            {
                return null;
            }

            using InferenceSession session = model.CreateSession(contextSize);
            return new DeviceMemory(afterLoad, model.DeviceMemoryInUseBytes() ?? afterLoad, contextSize);
        }
    }

    /// <summary>-d as one depth or a comma-separated list (llama-bench style), each 0 … the token limit.</summary>
    private static int[] Depths(string? text)
    {
        if (text is null)
            return [0];
        var depths = new List<int>();
        foreach (string part in CommaList.Split(text, "-d/--n-depth"))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int depth) || depth > SamplingArguments.MaxTokensLimit)
                throw new UsageException($"-d/--n-depth must be whole numbers 0 … {SamplingArguments.MaxTokensLimit} separated by commas, got '{text}'");
            depths.Add(depth);
        }
        return [.. depths];
    }

    private sealed record BenchResult(string Test, int Tokens, double[] TokensPerSecond)
    {
        /// <summary>Sequences decoded together (tg tests with -b); 1 otherwise.</summary>
        public int Batch { get; init; } = 1;

        /// <summary>Per repetition: its time and what it cost besides kernels.</summary>
        public RepetitionCosts[] Costs { get; init; } = [];

        public double Mean => TokensPerSecond.Average();

        public double StandardDeviation => TokensPerSecond.Length < 2
            ? 0
            : Math.Sqrt(TokensPerSecond.Sum(v => (v - Mean) * (v - Mean)) / (TokensPerSecond.Length - 1));
    }

    /// <summary>
    /// One warm-up (kernel compilation, autotuning, page faults), then the timed repetitions. With <c>KS_PROFILE=1</c>
    /// the timed regions' launches are profiled (see <see cref="LaunchProfile"/>) and the profile goes to stderr. Each
    /// repetition also records what it cost besides kernels (<see cref="RepetitionCosts"/>), so that a slow one can be told apart
    /// from a slow kernel.
    /// </summary>
    private static BenchResult Measure(string test, int tokens, int repetitions, DeepSeekModel model, CliContext context, Func<TimeSpan> run)
    {
        LaunchProfile? profile = LaunchProfile.Current;
        run();
        profile?.Reset();
        var rates = new double[repetitions];
        var costs = new RepetitionCosts[repetitions];
        for (int i = 0; i < repetitions; i++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var before = RepetitionCosts.Now(model);
            double seconds = run().TotalSeconds;
            rates[i] = tokens / Math.Max(seconds, 1e-9);
            costs[i] = RepetitionCosts.Now(model).Since(before) with { Seconds = seconds };
        }
        if (profile is not null)
        {
            context.Error.WriteLine($"{test}: " + profile.Format(tokens * repetitions));
        }
        return new BenchResult(test, tokens, rates) { Costs = costs };
    }

    /// <summary>
    /// What one repetition did besides running kernels, as differences of process-wide counters: device allocations and
    /// frees by the model's buffer pools, kernels compiled, .NET garbage collection (pause time, full collections, bytes
    /// allocated), and autotuner measurements (all but the allocated bytes 0 once warm). They span the whole repetition,
    /// its untimed setup (the session, a depth fill) included, while <see cref="Seconds"/> is the timed part only.
    /// </summary>
    private readonly record struct RepetitionCosts(double Seconds, long DeviceAllocations, long DeviceFrees, long KernelsCompiled, double GcPauseMs, long Gen2Collections, long AllocatedBytes, long Autotuned)
    {
        public static RepetitionCosts Now(DeepSeekModel model)
        {
            var (allocations, frees, compiled) = model.BackendCounters();
            return new RepetitionCosts(0, allocations, frees, compiled, GC.GetTotalPauseDuration().TotalMilliseconds, GC.CollectionCount(2),
                GC.GetTotalAllocatedBytes(), KernelAutotuner.Measurements);
        }

        public RepetitionCosts Since(RepetitionCosts start) => new(Seconds, DeviceAllocations - start.DeviceAllocations,
            DeviceFrees - start.DeviceFrees, KernelsCompiled - start.KernelsCompiled, GcPauseMs - start.GcPauseMs,
            Gen2Collections - start.Gen2Collections, AllocatedBytes - start.AllocatedBytes, Autotuned - start.Autotuned);
    }

    /// <summary>Wall time of <paramref name="action"/>; a profiled region is the only one whose launches the profile charges.</summary>
    private static TimeSpan Time(Action action, bool profiled)
    {
        LaunchProfile? profile = profiled ? LaunchProfile.Current : null;
        profile?.Resume();
        var clock = Stopwatch.StartNew();
        action();
        TimeSpan elapsed = clock.Elapsed;
        profile?.Pause();
        return elapsed;
    }

    private static string Markdown(BenchSummary summary, IReadOnlyList<BenchResult> results)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        text.WriteLine($"device: {summary.Device}");
        text.WriteLine($"model: {summary.Model}: {summary.Config.NumHiddenLayers} layers, hidden {summary.Config.HiddenSize}, " +
                       $"{summary.Config.NRoutedExperts} experts ({summary.Config.NumExpertsPerTok} per token), vocab {summary.Config.VocabSize}, context {summary.ContextSize}");
        text.WriteLine($"kv cache: {summary.KvCache.ToString().ToLowerInvariant()}, {summary.CacheBytesPerToken} bytes per token of context " +
                       $"({MemoryEstimate.LatentCacheBytesPerToken(summary.Config, summary.KvCache)} latent + {MemoryEstimate.IndexKeyBytesPerToken(summary.Config, summary.KvCache)} index keys per layer)");
        if (summary.Memory is { } memory)
        {
            text.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"device memory (driver): {Sizes.Bytes(memory.AfterLoadBytes)} in use after load, {Sizes.Bytes(memory.WithSessionBytes)} with a session of {memory.SessionTokens} tokens: {memory.BytesPerToken:F0} bytes per token of context"));
        }
        text.WriteLine();
        text.WriteLine("| model | size | params | backend | test | t/s |");
        text.WriteLine("| --- | ---: | ---: | --- | ---: | ---: |");
        string backend = summary.Device.Split(' ', 2)[0].TrimEnd(':', ',', ';');
        foreach (BenchResult result in results)
        {
            text.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {summary.Model} | {Sizes.Bytes(summary.WeightBytes)} | {Sizes.Count(summary.Parameters)} | {backend} | {result.Test} | {result.Mean:F2} ± {result.StandardDeviation:F2} |"));
        }
        return text.ToString();
    }

    private static string Json(BenchSummary summary, IReadOnlyList<BenchResult> results)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("model", summary.Model);
            json.WriteString("device", summary.Device);
            json.WriteNumber("parameters", summary.Parameters);
            json.WriteNumber("active_parameters_per_token", summary.ActiveParameters);
            // One embedding row is read per token, not the table: the memory roofline leaves the table out.
            json.WriteNumber("embedding_parameters", summary.Config.TieWordEmbeddings ? 0L : (long)summary.Config.VocabSize * summary.Config.HiddenSize);
            json.WriteNumber("weight_bytes", summary.WeightBytes);
            json.WriteNumber("n_ctx", summary.ContextSize);
            json.WriteString("kv_cache", summary.KvCache.ToString().ToLowerInvariant());
            json.WriteNumber("kv_cache_bytes_per_token", summary.CacheBytesPerToken);
            if (summary.Memory is { } memory)
            {
                json.WriteStartObject("device_memory");
                json.WriteNumber("after_load_bytes", memory.AfterLoadBytes);
                json.WriteNumber("with_session_bytes", memory.WithSessionBytes);
                json.WriteNumber("session_tokens", memory.SessionTokens);
                json.WriteNumber("bytes_per_token", Math.Round(memory.BytesPerToken, 1));
                json.WriteEndObject();
            }
            json.WriteStartArray("results");
            foreach (BenchResult result in results)
            {
                json.WriteStartObject();
                json.WriteString("test", result.Test);
                json.WriteNumber("n_tokens", result.Tokens);
                json.WriteNumber("n_batch", result.Batch);
                json.WriteNumber("avg_ts", result.Mean);
                json.WriteNumber("stddev_ts", result.StandardDeviation);
                json.WriteStartArray("samples_ts");
                foreach (double rate in result.TokensPerSecond)
                {
                    json.WriteNumberValue(rate);
                }
                json.WriteEndArray();
                json.WriteStartArray("repetitions");
                foreach (RepetitionCosts cost in result.Costs)
                {
                    json.WriteStartObject();
                    json.WriteNumber("seconds", Math.Round(cost.Seconds, 6));
                    json.WriteNumber("device_allocations", cost.DeviceAllocations);
                    json.WriteNumber("device_frees", cost.DeviceFrees);
                    json.WriteNumber("kernels_compiled", cost.KernelsCompiled);
                    json.WriteNumber("gc_pause_ms", Math.Round(cost.GcPauseMs, 3));
                    json.WriteNumber("gen2_collections", cost.Gen2Collections);
                    json.WriteNumber("managed_bytes_allocated", cost.AllocatedBytes);
                    json.WriteNumber("autotuner_measurements", cost.Autotuned);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
