using System.Globalization;
using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;

namespace KernelSharp.Cli.Verbs;

/// <summary><c>kernelsharp inspect</c>: what a checkpoint is, without loading its weights (headers only).</summary>
public sealed class InspectVerb : IVerb
{
    public VerbSpec Spec { get; } = new(
        "inspect",
        "Show a model's config, parameter counts, dtypes, memory estimate and (on request) its tensors.",
        "-m DIR [--tensors] [options]",
        "Reads config.json and the safetensors headers only; the weights are not loaded.",
        [
            SharedOptions.Model,
            OptionSpec.Flag("tensors", "list every tensor with dtype and shape"),
            SharedOptions.ContextSize,
        ]);

    public int Run(ParsedArguments args, CliContext context)
    {
        string modelDirectory = args.RequiredString("model");
        ModelFolder folder = ModelFolder.Open(modelDirectory);
        int contextSize = folder.ContextSize(args);
        ModelConfig config = folder.Config;
        using Checkpoint checkpoint = Checkpoint.Open(folder.Directory, config.Quantization);
        TextWriter output = context.Out;

        output.WriteLine($"model: {folder.Name} ({Path.GetFullPath(folder.Directory)})");
        WriteConfig(output, config);

        ParameterCount parameters = ParameterCount.From(checkpoint, config);
        output.WriteLine($"parameters: {Sizes.Count(parameters.Total)} total, {Sizes.Count(parameters.ActivePerToken)} active per token " +
                         $"(routed experts {Sizes.Count(parameters.RoutedExperts)})" +
                         (parameters.MultiTokenPrediction > 0 ? $"; MTP layer {Sizes.Count(parameters.MultiTokenPrediction)} (not used for inference)" : string.Empty));
        output.WriteLine($"files: {checkpoint.FilePaths.Count} safetensors, {Sizes.Bytes(checkpoint.TotalBytes)} of tensor data, {checkpoint.TensorNames.Count} tensors");
        WarnWhereConfigAndWeightsDisagree(context, config, checkpoint);

        output.WriteLine("dtypes:");
        TensorInfo[] tensors = checkpoint.TensorNames.Order(StringComparer.Ordinal).Select(checkpoint.GetInfo).ToArray();
        foreach (var group in tensors.GroupBy(t => t.DType).OrderBy(g => g.Key))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {group.Key,-8} {group.Count(),6} tensors {Sizes.Count(group.Sum(t => t.ElementCount)),12} values {Sizes.Bytes(group.Sum(t => t.ByteLength)),12}"));
        }

        output.WriteLine($"memory estimate for a context of {contextSize} tokens:");
        foreach (string line in MemoryLines(config, contextSize))
        {
            output.WriteLine("  " + line);
        }

        output.WriteLine(CacheLine(config));

        if (args.Flag("tensors"))
        {
            output.WriteLine("tensors:");
            int width = tensors.Max(t => t.Name.Length) + 2;
            foreach (TensorInfo tensor in tensors)
            {
                output.WriteLine($"  {tensor.Name.PadRight(width)}{tensor.DType,-8} {tensor.ShapeText}");
            }
        }
        return ExitCodes.Success;
    }

    /// <summary>
    /// inspect describes a checkpoint without loading it, but says on stderr (once) where loading would fail: a tensor
    /// the config needs that is missing or of another shape, or a config the model cannot run.
    /// </summary>
    private static void WarnWhereConfigAndWeightsDisagree(CliContext context, ModelConfig config, Checkpoint checkpoint)
    {
        try
        {
            ModelConfigValidator.ValidateRunnable(config, "config.json");
            CheckpointLayout.Verify(config, checkpoint);
        }
        catch (UserInputException disagreement)
        {
            context.Error.WriteLine($"warning: config and weights disagree; loading would fail: {disagreement.Message}");
        }
        catch (OverflowException)
        {
            context.Error.WriteLine("warning: the config's sizes overflow 64-bit arithmetic; loading would fail");
        }
    }

    private static void WriteConfig(TextWriter output, ModelConfig c)
    {
        int dense = Math.Min(c.FirstKDenseReplace, c.NumHiddenLayers);
        output.WriteLine($"layers: {c.NumHiddenLayers} ({dense} dense + {c.NumHiddenLayers - dense} MoE), hidden {c.HiddenSize}, vocab {c.VocabSize}, " +
                         $"max context {c.MaxPositionEmbeddings}");
        output.WriteLine($"attention: MLA, {c.NumAttentionHeads} heads, q_lora {(c.QLoraRank?.ToString(CultureInfo.InvariantCulture) ?? "none")}, " +
                         $"kv_lora {c.KvLoraRank}, qk {c.QkNopeHeadDim} nope + {c.QkRopeHeadDim} rope, v {c.VHeadDim}");
        output.WriteLine($"indexer (DSA): {c.IndexNHeads} heads x {c.IndexHeadDim}, top-k {c.IndexTopk}");
        output.WriteLine($"moe: {c.NRoutedExperts} routed experts ({c.NumExpertsPerTok} per token, {c.NGroup} groups, {c.TopkGroup} kept), " +
                         $"{c.NSharedExperts} shared, expert width {c.MoeIntermediateSize}, dense width {c.IntermediateSize}");
        RopeConfig rope = c.Rope;
        output.WriteLine(rope.Type == "yarn"
            ? string.Create(CultureInfo.InvariantCulture,
                $"rope: yarn, theta {rope.Theta}, factor {rope.Factor}, original context {rope.OriginalMaxPositionEmbeddings}, beta {rope.BetaFast}/{rope.BetaSlow}, mscale {rope.Mscale}/{rope.MscaleAllDim}")
            : string.Create(CultureInfo.InvariantCulture, $"rope: {rope.Type}, theta {rope.Theta}"));
        output.WriteLine(c.Quantization is QuantizationConfig q
            ? $"quantization: {q.Method} {q.Format}, blocks {q.BlockRows}x{q.BlockCols}"
            : "quantization: none");
    }

    /// <summary>What one more token of context costs in each --kv-cache format, every layer (latent cache + index keys).</summary>
    private static string CacheLine(ModelConfig config)
    {
        try
        {
            return "kv cache per token of context: " + string.Join(", ", new[] { KvCacheFormat.Fp32, KvCacheFormat.Fp8 }.Select(format =>
                $"{format.ToString().ToLowerInvariant()} {MemoryEstimate.CacheBytesPerToken(config, format)} B ({MemoryEstimate.LatentCacheBytesPerToken(config, format)} latent + {MemoryEstimate.IndexKeyBytesPerToken(config, format)} index keys per layer)"));
        }
        catch (OverflowException)
        {
            return "kv cache per token of context: larger than 64-bit sizes can count";
        }
    }

    /// <summary>One line per way of holding the weights: the CPU backend dequantizes to fp32; GPUs keep bf16 (or fp8).</summary>
    private static IEnumerable<string> MemoryLines(ModelConfig config, int contextSize)
    {
        // Every backend keeps the weights as the checkpoint stores them; the CPU reads them in place from the mapped file.
        (string name, WeightStorage stored) = config.Quantization is not null ? ("fp8", WeightStorage.Fp8) : ("bf16", WeightStorage.BFloat16);
        var storages = new List<(string Device, string Weights, WeightStorage Storage)> { ("cpu", name, stored), ("gpu", name, stored) };
        foreach ((string device, string weights, WeightStorage storage) in storages)
        {
            MemoryEstimate? estimate = null;
            string? problem = null;
            try
            {
                estimate = MemoryEstimate.For(config, storage, contextSize, KvCacheFormat.Fp32, embeddingAsStored: device == "cpu");
            }
            catch (UserInputException tooLarge)
            {
                problem = tooLarge.Message;
            }

            if (estimate is null)
            {
                yield return $"{device} ({weights} weights): cannot be estimated ({problem})";
                continue;
            }

            yield return $"{device} ({weights} weights): {Sizes.Bytes(estimate.WeightBytes)} weights + {Sizes.Bytes(estimate.CacheBytes)} caches = {Sizes.Bytes(estimate.TotalBytes)}";
        }
    }
}
