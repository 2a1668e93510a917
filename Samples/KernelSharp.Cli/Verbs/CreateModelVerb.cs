using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime;

namespace KernelSharp.Cli.Verbs;

/// <summary><c>kernelsharp create-model</c>: a checkpoint with random weights for any config, written atomically.</summary>
public sealed class CreateModelVerb : IVerb
{
    public const int MaxShards = 1024;

    public bool StopsCleanlyOnCtrlC => true;

    public VerbSpec Spec { get; } = new(
        "create-model",
        "Write a checkpoint with random weights from a config file or a preset.",
        "(--config FILE | --preset NAME) -o DIR [options]",
        $"Presets: {string.Join(", ", ModelPresets.Names)}. The checkpoint is written into a temporary folder next to DIR\n" +
        "and renamed when complete, so an interrupted run (Ctrl-C: exit 130) leaves no half checkpoint.\n" +
        "An existing DIR is kept unless --force; --force replaces only a folder that holds a checkpoint.",
        [
            OptionSpec.Value("config", "FILE", "a config.json to build the model from"),
            OptionSpec.Value("preset", "NAME", $"a built-in config: {string.Join('|', ModelPresets.Names)}"),
            OptionSpec.Value("out", "DIR", "the folder to create", "o"),
            OptionSpec.Value("seed", "N", "random seed, >= 0 (default: 0)", "s"),
            OptionSpec.Value("layers", "N", "keep every width of the config but only its first N layers (the first_k_dense_replace dense ones first), 1 … the config's layer count (default: all)"),
            OptionSpec.Value("dtype", "TYPE", "bf16|fp8 weights (fp8: e4m3 with 128x128 block scales) (default: fp8 when the config has an FP8 quantization_config, as deepseek-v3.2 does, else bf16)"),
            OptionSpec.Value("shards", "K", $"number of safetensors files, 1 … {MaxShards} (default: 1)"),
            OptionSpec.Value("tokenizer", "FILE", "copy this tokenizer.json into DIR (default: the tokenizer.json beside --config, if any)"),
            OptionSpec.Flag("no-tokenizer", "copy no tokenizer (generate and chat then cannot run on DIR)"),
            OptionSpec.Flag("force", "replace DIR if it exists"),
        ]);

    public int Run(ParsedArguments args, CliContext context)
    {
        args.AtMostOneOf("config", "preset");
        if (!args.Has("config") && !args.Has("preset"))
        {
            throw new UsageException("give --config FILE or --preset NAME");
        }
        string outDirectory = args.RequiredString("out");
        if (string.IsNullOrWhiteSpace(outDirectory))
        {
            throw new UsageException("-o/--out is empty; give the name of the folder to create");
        }
        int seed = args.Int("seed", 0, 0, int.MaxValue);
        int shards = args.Int("shards", 1, 1, MaxShards);
        bool force = args.Flag("force");

        var inputs = new ProtectedInputs();
        ModelConfig config;
        if (args.String("preset") is string preset)
        {
            string name = args.Choice("preset", preset, ModelPresets.Names.Select(n => n.ToLowerInvariant()).ToArray());
            config = ModelPresets.Get(name);
        }
        else
        {
            string configPath = args.RequiredString("config");
            if (FileKinds.Of(configPath) == FileKind.Missing)
            {
                throw new UserInputException(InputFiles.NotFound(configPath, "config file"));
            }
            config = ModelConfig.Load(configPath);
            inputs.AddFile(configPath);
        }

        // Like the release: a config that declares FP8 weights gets FP8 weights unless told otherwise.
        string defaultDtype = config.Quantization is not null ? "fp8" : "bf16";
        WeightFormat format = args.Choice("dtype", defaultDtype, "bf16", "fp8") == "fp8" ? WeightFormat.Fp8 : WeightFormat.Bf16;

        if (args.Has("layers"))
        {
            // A real-width slice: the first N layers with every width; fewer layers than first_k_dense_replace are all dense.
            int layers = args.Int("layers", config.NumHiddenLayers, 1, config.NumHiddenLayers);
            config = config with { NumHiddenLayers = layers, FirstKDenseReplace = Math.Min(config.FirstKDenseReplace, layers) };
        }

        string? tokenizer = TokenizerToCopy(args);

        using (ProgressBar? bar = ProgressBar.For(context, "writing " + Path.GetFileName(Path.GetFullPath(outDirectory))))
        {
            try
            {
                RandomCheckpointWriter.Write(
                    config, outDirectory, seed, format, shards, force, tokenizer, new CancellingProgress(bar, context.Cancellation),
                    inputs, notice => context.Error.WriteLine($"note: {notice}"));
            }
            catch (AggregateException parallel) when (parallel.InnerExceptions.All(e => e is OperationCanceledException))
            {
                // Ctrl-C seen inside a parallel part of the writer.
                throw new OperationCanceledException(context.Cancellation);
            }
        }
        long bytes = Directory.EnumerateFiles(Path.TrimEndingDirectorySeparator(outDirectory)).Sum(file => new FileInfo(file).Length);
        context.Out.WriteLine(
            $"wrote {outDirectory}: {config.NumHiddenLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}, " +
            $"{format.ToString().ToLowerInvariant()}, {shards} shard(s), {Sizes.Bytes(bytes)}, seed {seed}");
        context.Error.WriteLine(tokenizer is null
            ? "note: no tokenizer.json copied, so generate and chat cannot run on this model (logits --tokens and bench can); give --tokenizer FILE"
            : $"tokenizer: copied {tokenizer}");
        return ExitCodes.Success;
    }

    /// <summary>
    /// --tokenizer when given; otherwise the tokenizer.json beside --config (a downloaded model folder holds both), so a
    /// model made from a real config can generate text without a second flag; none with --no-tokenizer.
    /// </summary>
    private static string? TokenizerToCopy(ParsedArguments args)
    {
        args.AtMostOneOf("tokenizer", "no-tokenizer");
        if (args.Flag("no-tokenizer"))
        {
            return null;
        }
        if (args.String("tokenizer") is string given)
        {
            return given;
        }
        if (args.String("config") is string configPath)
        {
            string beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configPath))!, "tokenizer.json");
            return File.Exists(beside) ? beside : null;
        }
        return null;
    }
}
