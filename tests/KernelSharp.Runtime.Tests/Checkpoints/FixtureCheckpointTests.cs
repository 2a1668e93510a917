using Xunit;

namespace KernelSharp.Runtime.Tests.Checkpoints;

/// <summary>The two tiny fixtures open, hold exactly the Hub layout of their config, and dequantize sensibly.</summary>
public sealed class FixtureCheckpointTests
{
    public static TheoryData<string> Fixtures => new() { "tiny-dsa-bf16", "tiny-dsa-fp8-yarn" };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Every_layout_tensor_is_present_with_its_shape_and_reads_as_finite_floats(string fixture)
    {
        string folder = Path.Combine(CheckpointTestFiles.FixturesFolder, fixture);
        ModelConfig config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        using Checkpoint checkpoint = Checkpoint.Open(folder, config.Quantization);

        IReadOnlyList<CheckpointTensor> layout = CheckpointLayout.For(config);
        foreach (CheckpointTensor tensor in layout)
        {
            float[] values = checkpoint.ReadFloat32(tensor.Name, tensor.Shape);
            Assert.Equal(tensor.Shape.Aggregate(1L, (a, b) => a * b), values.LongLength);
            Assert.All(values, v => Assert.True(float.IsFinite(v), $"{tensor.Name} has a non-finite value"));
        }

        // Everything else in the file is the MTP layer (index num_hidden_layers) or an FP8 block scale.
        var expected = layout.Select(t => t.Name).ToHashSet();
        string mtpPrefix = $"model.layers.{config.NumHiddenLayers}.";
        Assert.All(checkpoint.TensorNames.Where(n => !expected.Contains(n)), name =>
            Assert.True(name.StartsWith(mtpPrefix, StringComparison.Ordinal) || (config.Quantization is not null && name.EndsWith("_scale_inv", StringComparison.Ordinal)), name));
    }

    [Fact]
    public void Dtypes_follow_the_documented_storage_rules()
    {
        using Checkpoint bf16 = Checkpoint.Open(CheckpointTestFiles.TinyBf16);
        using Checkpoint fp8 = Checkpoint.Open(CheckpointTestFiles.TinyFp8Yarn);
        ModelConfig config = ModelPresets.Tiny;
        foreach (CheckpointTensor tensor in CheckpointLayout.For(config))
        {
            TensorDType expectedBf16 = tensor.Role is TensorRole.RouterBias or TensorRole.IndexerHeadWeights ? TensorDType.F32 : TensorDType.BF16;
            Assert.Equal(expectedBf16, bf16.GetInfo(tensor.Name).DType);
            TensorDType expectedFp8 = tensor.Role == TensorRole.Projection ? TensorDType.F8_E4M3 : expectedBf16;
            Assert.Equal(expectedFp8, fp8.GetInfo(tensor.Name).DType);
        }
    }

    [Fact]
    public void Sharded_fixture_spreads_tensors_over_both_shards()
    {
        using Checkpoint checkpoint = Checkpoint.Open(CheckpointTestFiles.TinyFp8Yarn);
        Assert.Equal(2, checkpoint.FilePaths.Count);
        var files = checkpoint.TensorNames.Select(n => Path.GetFileName(checkpoint.GetInfo(n).FilePath)).Distinct().Order().ToList();
        Assert.Equal(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"], files);
        long sum = checkpoint.TensorNames.Sum(n => checkpoint.GetInfo(n).ByteLength);
        Assert.Equal(sum, checkpoint.TotalBytes);

        using Checkpoint viaIndex = Checkpoint.Open(Path.Combine(CheckpointTestFiles.TinyFp8Yarn, ShardIndex.FileName));
        Assert.Equal(checkpoint.TensorNames.Order(), viaIndex.TensorNames.Order());
    }

    /// <summary>
    /// The fixtures hold different random weights, so compare statistics: an FP8 weight dequantized with its block scales
    /// must have the spread of the same bf16 weight, and each block's largest |value| must sit at the top of the FP8 range
    /// (the quantizer scales blocks by amax/448), which fails if scales were applied to the wrong blocks or inverted.
    /// </summary>
    [Fact]
    public void Fp8_dequantization_matches_the_bf16_fixture_statistically()
    {
        using Checkpoint bf16 = Checkpoint.Open(CheckpointTestFiles.TinyBf16);
        using Checkpoint fp8 = Checkpoint.Open(CheckpointTestFiles.TinyFp8Yarn);
        foreach (CheckpointTensor tensor in CheckpointLayout.For(ModelPresets.Tiny).Where(t => t.Role == TensorRole.Projection))
        {
            float[] reference = bf16.ReadFloat32(tensor.Name, tensor.Shape);
            float[] dequantized = fp8.ReadFloat32(tensor.Name, tensor.Shape);
            double ratio = StandardDeviation(dequantized) / StandardDeviation(reference);
            Assert.InRange(ratio, 0.5, 2.0);

            float[] scales = fp8.ReadFloat32(tensor.Name + "_scale_inv");
            int rows = (int)tensor.Shape[0], cols = (int)tensor.Shape[1], scaleCols = (cols + 127) / 128;
            for (int blockRow = 0; blockRow * 128 < rows; blockRow++)
            {
                for (int blockCol = 0; blockCol < scaleCols; blockCol++)
                {
                    float largest = 0;
                    for (int r = blockRow * 128; r < Math.Min(rows, (blockRow + 1) * 128); r++)
                    {
                        for (int c = blockCol * 128; c < Math.Min(cols, (blockCol + 1) * 128); c++)
                        {
                            largest = Math.Max(largest, Math.Abs(dequantized[(r * cols) + c]));
                        }
                    }

                    float codeRange = largest / scales[(blockRow * scaleCols) + blockCol];
                    Assert.InRange(codeRange, 224f, 448f * 1.0001f); // the division rounds
                }
            }
        }
    }

    [Fact]
    public void Golden_file_opens_as_a_single_file_with_integer_tensors()
    {
        using Checkpoint golden = Checkpoint.Open(Path.Combine(CheckpointTestFiles.TinyBf16, "golden.safetensors"));
        TensorInfo ids = golden.GetInfo("prefill.input_ids");
        Assert.Equal(TensorDType.I32, ids.DType);
        int[] tokens = golden.ReadInt32("prefill.input_ids");
        Assert.Equal(ids.Shape[0], tokens.Length);
        Assert.All(tokens, t => Assert.InRange(t, 0, 511));
        var error = Assert.Throws<CheckpointException>(() => golden.ReadFloat32("prefill.input_ids"));
        Assert.Contains("I32", error.Message);
    }

    [Fact]
    public void Wrong_expected_shape_names_file_tensor_and_both_shapes()
    {
        using Checkpoint checkpoint = Checkpoint.Open(CheckpointTestFiles.TinyBf16);
        var error = Assert.Throws<CheckpointException>(() => checkpoint.ReadFloat32("model.norm.weight", 64));
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("'model.norm.weight'", error.Message);
        Assert.Contains("[128]", error.Message);
        Assert.Contains("[64]", error.Message);
    }

    [Fact]
    public void Unknown_tensor_names_the_checkpoint()
    {
        using Checkpoint checkpoint = Checkpoint.Open(CheckpointTestFiles.TinyBf16);
        var error = Assert.Throws<CheckpointException>(() => checkpoint.GetInfo("model.layers.9.mlp.gate.weight"));
        Assert.Contains("model.layers.9.mlp.gate.weight", error.Message);
        Assert.False(checkpoint.Contains("model.layers.9.mlp.gate.weight"));
    }

    [Fact]
    public void Raw_bytes_of_a_bf16_tensor_convert_to_the_float_values()
    {
        using Checkpoint checkpoint = Checkpoint.Open(CheckpointTestFiles.TinyBf16);
        ReadOnlySpan<byte> raw = checkpoint.GetRawBytes("model.norm.weight");
        float[] values = checkpoint.ReadFloat32("model.norm.weight", 128);
        Assert.Equal(256, raw.Length);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(StorageFormats.Bf16ToFloat(BitConverter.ToUInt16(raw.Slice(i * 2, 2))), values[i]);
        }
    }

    private static double StandardDeviation(float[] values)
    {
        double mean = values.Average(v => (double)v);
        return Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
    }
}
