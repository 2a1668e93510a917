using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Synthetic;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// A model built from its config.json alone, with weights generated from a seed on the device (<c>bench --synthetic</c>):
/// measures a model whose checkpoint is not on this machine. No safetensors and no tokenizer are read; a missing or
/// invalid config is a one-line error naming the file (and the field).
/// </summary>
public sealed class SyntheticModel
{
    private SyntheticModel(string configPath, ModelConfig config, int seed)
    {
        ConfigPath = configPath;
        Config = config;
        Seed = seed;
    }

    public string ConfigPath { get; }

    public ModelConfig Config { get; }

    public int Seed { get; }

    /// <summary>The name in tables: the config's folder for a config.json (as for a model folder), else the file's name; marked synthetic.</summary>
    public string Name
    {
        get
        {
            if (ConfigPath.StartsWith("preset ", StringComparison.Ordinal))
            {
                return $"{ConfigPath["preset ".Length..]} (synthetic, seed {Seed})";
            }

            string fullPath = Path.GetFullPath(ConfigPath);
            string stem = Path.GetFileName(fullPath) == "config.json"
                ? Path.GetFileName(Path.GetDirectoryName(fullPath)) ?? "model"
                : Path.GetFileNameWithoutExtension(fullPath);
            return $"{stem} (synthetic, seed {Seed})";
        }
    }

    /// <param name="path">A config.json, a folder holding one, or a preset name (<see cref="ModelPresets.Names"/>) where no
    /// such file or folder exists: the released DeepSeek-V3.2 is measurable with nothing on disk.</param>
    public static SyntheticModel Open(string path, int seed)
    {
        if (!File.Exists(path) && !Directory.Exists(path) && ModelPresets.Names.Contains(path.ToLowerInvariant()))
        {
            return new SyntheticModel("preset " + path.ToLowerInvariant(), ModelPresets.Get(path), seed);
        }

        string configPath = SyntheticModels.ConfigPath(path);
        ModelConfig config = ModelConfig.Load(configPath);
        ModelConfigValidator.ValidateRunnable(config, configPath);
        return new SyntheticModel(configPath, config, seed);
    }

    /// <summary>
    /// The same model cut to its first <paramref name="layers"/> layers, every width kept (the first_k_dense_replace
    /// dense ones first), as create-model --layers does: the per-layer cost of a model too large for the device.
    /// </summary>
    public SyntheticModel FirstLayers(int layers) => new(
        ConfigPath, Config with { NumHiddenLayers = layers, FirstKDenseReplace = Math.Min(Config.FirstKDenseReplace, layers) }, Seed);

    /// <summary>Generates the weights on the chosen device, with a progress bar on a terminal.</summary>
    public DeepSeekModel LoadModel(DevicePlacement placement, int maxContext, CliContext context, PrefillMatmul? prefill, KvCacheFormat kvCache)
    {
        using ProgressBar? progress = ProgressBar.For(context, "generating " + Name);
        return DeepSeekModel.Load(ConfigPath, placement.Apply(new ModelLoadOptions
        {
            Config = Config, Progress = progress, MaxContext = maxContext, PrefillMatmul = prefill, KvCache = kvCache, SyntheticSeed = Seed,
        }));
    }
}
