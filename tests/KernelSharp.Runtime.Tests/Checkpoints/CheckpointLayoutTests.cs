using Xunit;

namespace KernelSharp.Runtime.Tests.Checkpoints;

/// <summary><see cref="CheckpointLayout.Verify"/> accepts the fixtures and names the first tensor that does not fit the config.</summary>
public sealed class CheckpointLayoutTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("tiny-dsa-bf16")]
    [InlineData("tiny-dsa-fp8-yarn")]
    public void Fixtures_fit_their_configs(string fixture)
    {
        string folder = Path.Combine(CheckpointTestFiles.FixturesFolder, fixture);
        ModelConfig config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        using Checkpoint checkpoint = Checkpoint.Open(folder, config.Quantization);
        CheckpointLayout.Verify(config, checkpoint);
    }

    [Fact]
    public void Config_with_other_dimensions_names_the_first_mismatching_tensor()
    {
        using Checkpoint checkpoint = Checkpoint.Open(CheckpointTestFiles.TinyBf16);
        var error = Assert.Throws<CheckpointException>(() => CheckpointLayout.Verify(ModelPresets.Tiny with { VocabSize = 1000 }, checkpoint));
        Assert.Contains("'model.embed_tokens.weight' has shape [512, 128]; the model config expects [1000, 128]", error.Message);
    }

    [Fact]
    public void Config_with_more_layers_names_the_missing_tensor()
    {
        using Checkpoint checkpoint = Checkpoint.Open(CheckpointTestFiles.TinyBf16);
        var error = Assert.Throws<CheckpointException>(() => CheckpointLayout.Verify(ModelPresets.Tiny with { NumHiddenLayers = 5 }, checkpoint));
        Assert.Contains("tensor 'model.layers.3.input_layernorm.weight' [128] is missing", error.Message);
    }

    [Fact]
    public void Fp8_checkpoint_read_with_the_wrong_block_size_names_the_scale()
    {
        using Checkpoint checkpoint = Checkpoint.Open(CheckpointTestFiles.TinyFp8Yarn);
        ModelConfig config = ModelPresets.Tiny with { Quantization = new QuantizationConfig("fp8", "e4m3", 64, 64) };
        var error = Assert.Throws<CheckpointException>(() => CheckpointLayout.Verify(config, checkpoint));
        Assert.Contains("_scale_inv' has shape", error.Message);
        Assert.Contains("64×64 blocks", error.Message);
    }

    [Fact]
    public void Fp8_weight_without_scale_is_reported_before_loading()
    {
        string folder = temp.File("fp8");
        RandomCheckpointWriter.Write(ModelPresets.Tiny, folder, 1, WeightFormat.Fp8);
        string file = Path.Combine(folder, "model.safetensors");

        // Rename the scale in the header: same length, so the file stays valid.
        byte[] bytes = File.ReadAllBytes(file);
        string target = "model.layers.0.self_attn.o_proj.weight_scale_inv";
        int at = IndexOf(bytes, System.Text.Encoding.ASCII.GetBytes(target));
        bytes[at + target.Length - 1] = (byte)'X';
        File.WriteAllBytes(file, bytes);

        using Checkpoint checkpoint = Checkpoint.Open(folder);
        var error = Assert.Throws<CheckpointException>(() => CheckpointLayout.Verify(ModelPresets.Tiny, checkpoint));
        Assert.Contains("FP8 tensor 'model.layers.0.self_attn.o_proj.weight' has no 'model.layers.0.self_attn.o_proj.weight_scale_inv'", error.Message);
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle))
            {
                return i;
            }
        }

        throw new InvalidOperationException("not found");
    }
}
