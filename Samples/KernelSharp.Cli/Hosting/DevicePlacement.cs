using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime.Model;

namespace KernelSharp.Cli.Hosting;

/// <summary>Where a verb runs the model: the --device name and, with --gpus, the CUDA GPUs a split model's ranks run on.</summary>
public sealed record DevicePlacement(string Device, IReadOnlyList<int>? Gpus = null)
{
    /// <summary>Most GPUs --gpus accepts (a node has at most a few dozen).</summary>
    public const int MaxGpus = 64;

    /// <summary>--device and --gpus, checked together: --gpus means CUDA, so it refuses any other device by name.</summary>
    public static DevicePlacement Read(ParsedArguments args)
    {
        string device = SharedOptions.ReadDevice(args);
        string? gpus = args.String("gpus");
        if (gpus is null)
        {
            return new DevicePlacement(device);
        }

        if (device is not ("auto" or "cuda"))
        {
            throw new UsageException($"--gpus splits the model over CUDA GPUs; it cannot be combined with --device {device}");
        }

        return new DevicePlacement("cuda", ParseGpus(gpus));
    }

    /// <summary>"N" = GPUs 0 … N−1; "0,2,3" = those GPUs (CUDA device numbers), rank r on the r-th.</summary>
    public static int[] ParseGpus(string text)
    {
        if (!text.Contains(','))
        {
            return int.TryParse(text.Trim(), out int count) && count is >= 1 and <= MaxGpus
                ? [.. Enumerable.Range(0, count)]
                : throw new UsageException($"--gpus must be a number of GPUs (1 … {MaxGpus}) or a list of GPU numbers such as 0,2,3, got '{text}'");
        }

        // One trailing comma is meaningful: it makes a list of what would otherwise be a count ("5," = GPU 5 alone, "5" =
        // GPUs 0 … 4). Any other empty item is a lost GPU number and is refused.
        string[] parts = CommaList.Split(text, "--gpus", endsWithListMarker: true);
        var list = new List<int>(parts.Length);
        foreach (string part in parts)
        {
            if (!int.TryParse(part, out int gpu) || gpu < 0 || gpu >= 1024)
            {
                throw new UsageException($"--gpus: '{part}' in '{text}' is not a GPU number (0, 1, …)");
            }

            list.Add(gpu);
        }

        if (list.Distinct().Count() != list.Count)
        {
            throw new UsageException($"--gpus: '{text}' names a GPU twice; each rank needs a GPU of its own");
        }

        return list.Count <= MaxGpus ? [.. list] : throw new UsageException($"--gpus: at most {MaxGpus} GPUs, got {list.Count}");
    }

    /// <summary>The load options these choices set; the caller adds the rest.</summary>
    public ModelLoadOptions Apply(ModelLoadOptions options) => options with { Device = Device, Gpus = Gpus };
}
