using Xunit;

namespace KernelSharp.Runtime.Tests.Checkpoints;

/// <summary>Random checkpoints: readable by <see cref="Checkpoint"/>, deterministic, sharded, written atomically.</summary>
public sealed class RandomCheckpointWriterTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Bf16_checkpoint_reads_back_the_generated_values()
    {
        string folder = temp.File("bf16");
        RandomCheckpointWriter.Write(ModelPresets.Tiny, folder, seed: 3, WeightFormat.Bf16);
        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(folder, ShardIndex.FileName)));
        Assert.False(File.Exists(Path.Combine(folder, "tokenizer.json")));
        ModelConfig config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        Assert.Equal((ModelPresets.Tiny with { NumNextnPredictLayers = 0 }).ToJson(), config.ToJson());

        using Checkpoint checkpoint = Checkpoint.Open(folder);
        IReadOnlyList<CheckpointTensor> layout = CheckpointLayout.For(config);
        Assert.Equal(layout.Select(t => t.Name).Order(), checkpoint.TensorNames.Order());
        foreach (CheckpointTensor tensor in layout)
        {
            float[] read = checkpoint.ReadFloat32(tensor.Name, tensor.Shape);
            float[] expected = Generated(3, tensor, read.Length);
            bool f32 = tensor.Role is TensorRole.RouterBias or TensorRole.IndexerHeadWeights;
            Assert.Equal(f32 ? TensorDType.F32 : TensorDType.BF16, checkpoint.GetInfo(tensor.Name).DType);
            for (int i = 0; i < read.Length; i++)
            {
                float stored = f32 ? expected[i] : StorageFormats.Bf16ToFloat(StorageFormats.FloatToBf16(expected[i]));
                Assert.Equal(stored, read[i]);
            }
        }
    }

    [Fact]
    public void Random_values_have_the_documented_scale()
    {
        var projection = new CheckpointTensor("p", [256, 1024], TensorRole.Projection);
        float[] values = Generated(1, projection, 256 * 1024);
        double deviation = Math.Sqrt(values.Average(v => (double)v * v));
        Assert.InRange(deviation, 0.97 / 32, 1.03 / 32);
        float[] norm = Generated(1, new CheckpointTensor("n", [4096], TensorRole.NormWeight), 4096);
        Assert.InRange(norm.Average(), 0.99, 1.01);
        Assert.All(norm, v => Assert.InRange(v, 0.9f, 1.1f));
    }

    [Fact]
    public void Fp8_checkpoint_in_three_shards_dequantizes_close_to_the_generated_values()
    {
        string folder = temp.File("fp8");
        RandomCheckpointWriter.Write(ModelPresets.Tiny, folder, seed: 9, WeightFormat.Fp8, shards: 3);
        string[] shards = Directory.GetFiles(folder, "*.safetensors").Select(Path.GetFileName).Order().ToArray()!;
        Assert.Equal(["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"], shards);
        ShardIndex index = ShardIndex.Load(Path.Combine(folder, ShardIndex.FileName));
        ModelConfig config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        Assert.Equal(QuantizationConfig.Fp8Blocks128, config.Quantization);

        using Checkpoint checkpoint = Checkpoint.Open(folder, config.Quantization);
        Assert.Equal(index.WeightMap.Keys.Order(), checkpoint.TensorNames.Order());
        foreach (CheckpointTensor tensor in CheckpointLayout.For(config))
        {
            float[] read = checkpoint.ReadFloat32(tensor.Name, tensor.Shape);
            float[] expected = Generated(9, tensor, read.Length);
            if (tensor.Role != TensorRole.Projection)
            {
                Assert.NotEqual(TensorDType.F8_E4M3, checkpoint.GetInfo(tensor.Name).DType);
                continue;
            }

            Assert.Equal(TensorDType.F8_E4M3, checkpoint.GetInfo(tensor.Name).DType);
            Assert.Equal(index.WeightMap[tensor.Name], index.WeightMap[tensor.Name + "_scale_inv"]);
            AssertFp8Close(expected, read, checkpoint.ReadFloat32(tensor.Name + "_scale_inv"), tensor, 128, 128);
        }
    }

    [Fact]
    public void Fp8_with_blocks_that_do_not_divide_the_shapes()
    {
        ModelConfig config = ModelPresets.Tiny with { Quantization = new QuantizationConfig("fp8", "e4m3", 48, 40) };
        string folder = temp.File("fp8-odd-blocks");
        RandomCheckpointWriter.Write(config, folder, seed: 4, WeightFormat.Fp8, shards: 2);
        ModelConfig written = ModelConfig.Load(Path.Combine(folder, "config.json"));
        Assert.Equal(config.Quantization, written.Quantization);
        using Checkpoint checkpoint = Checkpoint.Open(folder, written.Quantization);
        CheckpointTensor tensor = CheckpointLayout.For(config).First(t => t.Name == "model.layers.0.self_attn.q_b_proj.weight"); // [192, 64]
        Assert.Equal([4L, 2L], checkpoint.GetInfo(tensor.Name + "_scale_inv").Shape);
        float[] read = checkpoint.ReadFloat32(tensor.Name, tensor.Shape);
        AssertFp8Close(Generated(4, tensor, read.Length), read, checkpoint.ReadFloat32(tensor.Name + "_scale_inv"), tensor, 48, 40);
    }

    [Fact]
    public void Same_seed_gives_identical_bytes_and_another_seed_different_bytes()
    {
        string first = temp.File("a"), second = temp.File("b"), third = temp.File("c");
        RandomCheckpointWriter.Write(ModelPresets.Tiny, first, 21, WeightFormat.Fp8, shards: 2);
        RandomCheckpointWriter.Write(ModelPresets.Tiny, second, 21, WeightFormat.Fp8, shards: 2);
        RandomCheckpointWriter.Write(ModelPresets.Tiny, third, 22, WeightFormat.Fp8, shards: 2);
        foreach (string file in Directory.GetFiles(first).Select(Path.GetFileName)!)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, file!)), File.ReadAllBytes(Path.Combine(second, file!)));
        }

        Assert.NotEqual(
            File.ReadAllBytes(Path.Combine(first, "model-00001-of-00002.safetensors")),
            File.ReadAllBytes(Path.Combine(third, "model-00001-of-00002.safetensors")));
    }

    [Fact]
    public void Existing_folder_is_refused_without_force_and_replaced_with_force()
    {
        string folder = temp.File("existing");
        RandomCheckpointWriter.Write(ModelPresets.Tiny, folder, 1, WeightFormat.Bf16);
        byte[] before = File.ReadAllBytes(Path.Combine(folder, "model.safetensors"));
        var error = Assert.Throws<UserInputException>(() => RandomCheckpointWriter.Write(ModelPresets.Tiny, folder, 2, WeightFormat.Bf16));
        Assert.Contains("already exists", error.Message);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));

        RandomCheckpointWriter.Write(ModelPresets.Tiny, folder, 2, WeightFormat.Bf16, force: true);
        Assert.NotEqual(before, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Single(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Force_never_replaces_a_folder_that_is_not_a_checkpoint()
    {
        string folder = temp.File("documents");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "keep me");
        var error = Assert.Throws<UserInputException>(() => RandomCheckpointWriter.Write(ModelPresets.Tiny, folder, 1, WeightFormat.Bf16, force: true));
        Assert.Contains("'notes.txt'", error.Message);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(folder, "notes.txt")));
    }

    /// <summary>
    /// A config.json or a .safetensors file does not make a folder a checkpoint that may be deleted: anything else in it
    /// (a subfolder with the user's data, a logits output beside notes) keeps --force from replacing it.
    /// </summary>
    [Theory]
    [InlineData("sub")]        // a subfolder beside a config.json
    [InlineData("user.txt")]   // a user's file beside a .safetensors output
    public void Force_never_replaces_a_folder_holding_anything_but_a_checkpoint(string extra)
    {
        string folder = temp.File("mixed-" + extra.Replace('.', '-'));
        Directory.CreateDirectory(folder);
        if (extra == "sub")
        {
            File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
            Directory.CreateDirectory(Path.Combine(folder, "sub"));
            File.WriteAllText(Path.Combine(folder, "sub", "data.txt"), "important");
        }
        else
        {
            File.WriteAllBytes(Path.Combine(folder, "logits.safetensors"), new byte[16]);
            File.WriteAllText(Path.Combine(folder, extra), "important");
        }

        var error = Assert.Throws<UserInputException>(() => RandomCheckpointWriter.Write(ModelPresets.Tiny, folder, 1, WeightFormat.Bf16, force: true));
        Assert.Contains($"'{extra}'", error.Message);
        Assert.Equal("important", File.ReadAllText(extra == "sub" ? Path.Combine(folder, "sub", "data.txt") : Path.Combine(folder, extra)));
    }

    [Fact]
    public void Interrupted_write_leaves_nothing_behind()
    {
        string folder = temp.File("interrupted");
        var interrupt = new Progress(fraction =>
        {
            if (fraction > 0.5)
            {
                throw new OperationCanceledException("stopped by the test");
            }
        });
        Assert.Throws<OperationCanceledException>(() => RandomCheckpointWriter.Write(ModelPresets.Tiny, folder, 1, WeightFormat.Fp8, shards: 3, progress: interrupt));
        Assert.False(Directory.Exists(folder));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Tokenizer_is_copied_only_when_given()
    {
        string folder = temp.File("with-tokenizer");
        string tokenizer = Path.Combine(CheckpointTestFiles.TinyBf16, "tokenizer.json");
        RandomCheckpointWriter.Write(ModelPresets.Tiny, folder, 1, WeightFormat.Bf16, tokenizerJsonPath: tokenizer);
        Assert.Equal(File.ReadAllBytes(tokenizer), File.ReadAllBytes(Path.Combine(folder, "tokenizer.json")));
        Assert.True(File.Exists(Path.Combine(folder, "tokenizer_config.json")));
        var error = Assert.ThrowsAny<UserInputException>(() => RandomCheckpointWriter.Write(ModelPresets.Tiny, temp.File("x"), 1, WeightFormat.Bf16, tokenizerJsonPath: temp.File("missing.json")));
        Assert.Contains("missing.json", error.Message);
    }

    [Fact]
    public void A_file_the_tokenizer_loader_cannot_read_is_refused_before_anything_is_written()
    {
        string notATokenizer = temp.File("config.json");
        File.Copy(Path.Combine(CheckpointTestFiles.TinyBf16, "config.json"), notATokenizer);
        var error = Assert.ThrowsAny<UserInputException>(() => RandomCheckpointWriter.Write(ModelPresets.Tiny, temp.File("m"), 1, WeightFormat.Bf16, tokenizerJsonPath: notATokenizer));
        Assert.Equal($"{notATokenizer}: model: missing", error.Message);
        Assert.Equal([notATokenizer], Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Bad_requests_are_user_errors()
    {
        Assert.Throws<UserInputException>(() => RandomCheckpointWriter.Write(ModelPresets.Tiny, temp.File("s0"), 1, WeightFormat.Bf16, shards: 0));
        Assert.Contains("at most", Assert.Throws<UserInputException>(() => RandomCheckpointWriter.Write(ModelPresets.Tiny, temp.File("s"), 1, WeightFormat.Bf16, shards: 100_000 - 1)).Message);
        Assert.Throws<ConfigException>(() => RandomCheckpointWriter.Write(ModelPresets.Tiny with { NGroup = 3 }, temp.File("bad"), 1, WeightFormat.Bf16));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Layout_with_tied_embeddings_round_trips_and_one_without_q_lora_is_refused_as_loading_would()
    {
        var noQLora = Assert.Throws<ConfigException>(() => RandomCheckpointWriter.Write(ModelPresets.Tiny with { QLoraRank = null }, temp.File("no-q-lora"), 5, WeightFormat.Bf16));
        Assert.Contains("'q_lora_rank' is null", noQLora.Message);

        ModelConfig config = ModelPresets.Tiny with { TieWordEmbeddings = true, NSharedExperts = 0 };
        string folder = temp.File("variant");
        RandomCheckpointWriter.Write(config, folder, 5, WeightFormat.Bf16, shards: 4);
        using Checkpoint checkpoint = Checkpoint.Open(folder);
        Assert.True(checkpoint.Contains("model.layers.1.self_attn.q_a_proj.weight"));
        Assert.False(checkpoint.Contains("lm_head.weight"));
        Assert.False(checkpoint.Contains("model.layers.1.mlp.shared_experts.up_proj.weight"));
        Assert.Equal([256L, 64L], checkpoint.GetInfo("model.layers.2.self_attn.indexer.wq_b.weight").Shape); // [index heads × head dim, q_lora]
    }

    private static float[] Generated(int seed, CheckpointTensor tensor, int count)
    {
        var values = new float[count];
        RandomWeights.Fill(RandomWeights.TensorKey(seed, tensor.Name), 0, values, RandomWeights.Mean(tensor.Role), RandomWeights.StandardDeviation(tensor));
        return values;
    }

    /// <summary>
    /// Each block's scale is its largest |value| / 448, every dequantized value is within FP8 rounding of the original
    /// (half a unit in the last place: 1/16 relative for normals, or half the subnormal step of the block), and equals the
    /// reference encoding of the original exactly.
    /// </summary>
    private static void AssertFp8Close(float[] expected, float[] read, float[] scales, CheckpointTensor tensor, int blockRows, int blockCols)
    {
        int rows = (int)tensor.Shape[0], cols = (int)tensor.Shape[1];
        int scaleCols = (cols + blockCols - 1) / blockCols;
        var largest = new float[scales.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                int block = ((r / blockRows) * scaleCols) + (c / blockCols);
                largest[block] = Math.Max(largest[block], Math.Abs(expected[(r * cols) + c]));
                float scale = scales[block];
                float original = expected[(r * cols) + c];
                float tolerance = Math.Max(Math.Abs(original) / 16f, scale * MathF.Pow(2, -10)) * 1.001f;
                Assert.True(Math.Abs(read[(r * cols) + c] - original) <= tolerance, $"{tensor.Name}[{r},{c}]");

                // Exactly the reference encoder's code (nearest-value search) times the block scale.
                float reference = StorageFormats.Fp8E4M3ToFloat(StorageFormats.FloatToFp8E4M3(original / scale)) * scale;
                Assert.Equal(reference, read[(r * cols) + c]);
            }
        }

        for (int block = 0; block < scales.Length; block++)
        {
            Assert.Equal(largest[block] / 448f, scales[block]);
        }
    }

    private sealed class Progress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
