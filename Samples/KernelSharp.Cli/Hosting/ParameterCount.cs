using System.Text.RegularExpressions;
using KernelSharp.Runtime;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// Parameter counts from a checkpoint's tensor shapes, DeepSeek's way: total = every weight of the main model
/// (FP8 block scales are storage, not parameters; the MTP layer is counted apart), active per token = everything
/// except routed experts + the fraction of routed experts a token uses (num_experts_per_tok / n_routed_experts).
/// </summary>
public sealed partial record ParameterCount(long Total, long ActivePerToken, long RoutedExperts, long MultiTokenPrediction)
{
    public static ParameterCount From(Checkpoint checkpoint, ModelConfig config) =>
        From(checkpoint.TensorNames.Select(name => (name, checkpoint.GetInfo(name).Shape)), config);

    /// <summary>The counts of the checkpoint <paramref name="config"/> describes (a synthetic model's: no file to read).</summary>
    public static ParameterCount FromLayout(ModelConfig config) =>
        From(CheckpointLayout.For(config).Select(tensor => (tensor.Name, tensor.Shape)), config);

    private static ParameterCount From(IEnumerable<(string Name, long[] Shape)> tensors, ModelConfig config)
    {
        long main = 0, routed = 0, mtp = 0;
        foreach ((string name, long[] shape) in tensors)
        {
            if (name.EndsWith("_scale_inv", StringComparison.Ordinal))
            {
                continue;
            }
            long count = shape.Aggregate(1L, (product, dim) => product * dim);
            Match layer = LayerIndex().Match(name);
            if (layer.Success && int.Parse(layer.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= config.NumHiddenLayers)
            {
                mtp += count;
                continue;
            }
            main += count;
            if (RoutedExpert().IsMatch(name))
            {
                routed += count;
            }
        }
        long activeRouted = config.NRoutedExperts == 0 ? 0 : routed * config.NumExpertsPerTok / config.NRoutedExperts;
        return new ParameterCount(main, main - routed + activeRouted, routed, mtp);
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.")]
    private static partial Regex LayerIndex();

    // Routed experts only: "mlp.experts.<e>." (the shared expert is "mlp.shared_experts.", always active).
    [GeneratedRegex(@"\.mlp\.experts\.\d+\.")]
    private static partial Regex RoutedExpert();
}
