using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// A model folder in the Hugging Face layout, opened in the order that gives the cheapest clear error first:
/// the folder, config.json, tokenizer.json, then (only when needed) the weights. Nothing here ever writes into the folder.
/// </summary>
public sealed class ModelFolder
{
    private ModelFolder(string directory, ModelConfig config)
    {
        Directory = directory;
        Config = config;
    }

    public string Directory { get; }

    public ModelConfig Config { get; }

    /// <summary>The folder's name, used as the model's name in tables.</summary>
    public string Name => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(Directory)));

    public static ModelFolder Open(string directory)
    {
        InputFiles.RequireFolder(directory, "model folder", "--model expects the model folder that holds config.json", message => new UserInputException(message));
        string configPath = Path.Combine(directory, "config.json");
        if (FileKinds.Of(configPath) == FileKind.Missing)
        {
            throw new UserInputException($"{configPath}: {InputFiles.Absent(configPath)}; a model folder needs config.json, model.safetensors (or shards) and tokenizer.json");
        }
        return new ModelFolder(directory, ModelConfig.Load(configPath));
    }

    public BpeTokenizer LoadTokenizer() => LoadTokenizer(Directory);

    /// <summary>
    /// The tokenizer of a folder that may hold nothing else (as Hugging Face loads one): tokenizer.json, plus
    /// tokenizer_config.json when present. No config.json or weights are needed to tokenize.
    /// </summary>
    public static BpeTokenizer LoadTokenizer(string directory)
    {
        InputFiles.RequireFolder(
            directory, "model folder", "-m expects a folder that holds tokenizer.json (or give the file with --tokenizer)", message => new UserInputException(message));
        string tokenizerPath = Path.Combine(directory, "tokenizer.json");
        if (FileKinds.Of(tokenizerPath) == FileKind.Missing)
        {
            throw new UserInputException($"{tokenizerPath}: {InputFiles.Absent(tokenizerPath)}; copy the model's tokenizer.json into the folder or use a command that needs no tokenizer (logits --tokens)");
        }
        string tokenizerConfigPath = Path.Combine(directory, "tokenizer_config.json");
        return BpeTokenizer.Load(tokenizerPath, File.Exists(tokenizerConfigPath) ? tokenizerConfigPath : null);
    }

    /// <summary>Loads the weights on the chosen device, with a progress bar on a terminal.</summary>
    /// <param name="maxContext">The longest sequence the caller will run: the memory check reserves caches for it.</param>
    /// <param name="prefill">How prompt matmuls run (--prefill).</param>
    /// <param name="kvCache">How sessions keep the latent cache (--kv-cache).</param>
    public DeepSeekModel LoadModel(DevicePlacement placement, int maxContext, CliContext context, PrefillMatmul? prefill = null, KvCacheFormat kvCache = KvCacheFormat.Fp32)
    {
        using ProgressBar? progress = ProgressBar.For(context, "loading " + Name);
        return DeepSeekModel.Load(Directory, placement.Apply(new ModelLoadOptions { Config = Config, Progress = progress, MaxContext = maxContext, PrefillMatmul = prefill, KvCache = kvCache }));
    }

    /// <summary>The -c value: 1 … max_position_embeddings; default min(4096, max_position_embeddings).</summary>
    public int ContextSize(ParsedArguments args, int minimum = 1)
        => args.Int("ctx-size", Math.Min(4096, Config.MaxPositionEmbeddings), minimum, Config.MaxPositionEmbeddings);

    /// <summary>Token ids that end generation: the config's EOS ids and the tokenizer's.</summary>
    public IReadOnlyCollection<int> StopTokenIds(BpeTokenizer tokenizer)
    {
        var ids = new HashSet<int>(Config.EosTokenIds);
        if (tokenizer.EosTokenId is int eos)
        {
            ids.Add(eos);
        }
        return ids;
    }
}
