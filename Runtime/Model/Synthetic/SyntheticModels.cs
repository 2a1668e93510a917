namespace KernelSharp.Runtime.Model.Synthetic;

/// <summary>
/// What callers of a synthetic model (weights generated from a seed, <see cref="ModelLoadOptions.SyntheticSeed"/>)
/// need besides loading it: where its config is, and how large its checkpoint would be.
/// </summary>
public static class SyntheticModels
{
    /// <summary>
    /// The config.json of <paramref name="path"/>: the path itself when it is a file, else the folder's config.json.
    /// A missing file is a one-line <see cref="ConfigException"/> naming it.
    /// </summary>
    public static string ConfigPath(string path)
    {
        var configPath = FileKinds.Of(path) == FileKind.Directory ? Path.Combine(path, "config.json") : path;
        if (FileKinds.Of(configPath) == FileKind.Missing)
        {
            // File.Exists is true for a dangling link: ask what is there, so the message says so.
            throw new ConfigException($"{configPath}: {InputFiles.Absent(configPath, whenMissing: "file not found")}; a synthetic model needs the model's config.json (no weights or tokenizer)");
        }

        return configPath;
    }

    /// <summary>
    /// Bytes of the checkpoint <c>create-model</c> would write for <paramref name="config"/> (FP8 projections with F32
    /// block scales when quantization_config declares fp8, else bf16): what a synthetic model stands in for.
    /// </summary>
    public static long CheckpointBytes(ModelConfig config)
    {
        var fp8 = config.Quantization is not null;
        var blocks = config.Quantization ?? QuantizationConfig.Fp8Blocks128;
        long bytes = 0;
        foreach (var tensor in CheckpointLayout.For(config))
        {
            var dtype = RandomWeights.StoredDType(tensor.Role, fp8);
            bytes = checked(bytes + (tensor.Shape.Aggregate(1L, (product, dimension) => checked(product * dimension)) * dtype.SizeInBytes()));
            if (dtype == TensorDType.F8_E4M3)
            {
                long scaleRows = (tensor.Shape[0] + blocks.BlockRows - 1) / blocks.BlockRows;
                long scaleColumns = (tensor.FanIn + blocks.BlockCols - 1) / blocks.BlockCols;
                bytes = checked(bytes + (scaleRows * scaleColumns * sizeof(float)));
            }
        }

        return bytes;
    }
}
