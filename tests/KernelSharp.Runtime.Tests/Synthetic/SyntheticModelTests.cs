using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Kernels;
using KernelSharp.Runtime.Tests.Golden;
using KernelSharp.Runtime.Tests.Model;
using KernelSharp.Runtime.Tests.Reference;
using Xunit;

namespace KernelSharp.Runtime.Tests.Synthetic;

/// <summary>
/// Models loaded from a config.json alone, weights generated from a seed (<see cref="ModelLoadOptions.SyntheticSeed"/>):
/// deterministic per seed, the same numbers on the kernel backend and the fp32 reference, the same model as the
/// checkpoint create-model writes from the seed, and a one-line refusal when the model does not fit.
/// </summary>
public sealed class SyntheticModelTests
{
    private static readonly int[] Prompt = [5, 77, 300, 12];

    private static string ConfigOf(string fixture) => Path.Combine(Fixtures.Directory(fixture), "config.json");

    /// <summary>The prompt's prefill logits, then one decode step's.</summary>
    private static float[] Logits(DeepSeekModel model)
    {
        using var session = model.CreateSession(16);
        return [.. session.Prefill(Prompt), .. session.Decode(9)];
    }

    private static float[] SyntheticLogits(string config, int seed, string device = "cpu")
    {
        using var model = DeepSeekModel.Load(config, new ModelLoadOptions { SyntheticSeed = seed, Device = device, MaxContext = 16 });
        return Logits(model);
    }

    [Theory]
    [InlineData(Fixtures.Bf16)]
    [InlineData(Fixtures.Fp8Yarn)]
    public void The_same_seed_gives_the_same_logits_and_another_seed_other_ones(string fixture)
    {
        var first = SyntheticLogits(ConfigOf(fixture), seed: 1);
        var again = SyntheticLogits(ConfigOf(fixture), seed: 1);
        var other = SyntheticLogits(ConfigOf(fixture), seed: 2);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.All(first, value => Assert.True(float.IsFinite(value)));
        // create-model's distributions keep activations O(1): logits neither vanish nor explode.
        var scale = first.Max(MathF.Abs);
        Assert.InRange(scale, 1e-2f, 1e3f);
    }

    [Fact]
    public void A_bf16_synthetic_model_is_the_checkpoint_create_model_writes_from_the_same_seed()
    {
        var config = ModelConfig.Load(ConfigOf(Fixtures.Bf16));
        using var folder = new TemporaryFolder();
        var directory = Path.Combine(folder.Path, "model");
        RandomCheckpointWriter.Write(config, directory, seed: 5, WeightFormat.Bf16);
        var configPath = Path.Combine(directory, "config.json");

        // The same weights bit for bit: on the fp32 reference, which reads both as fp32 in one layout, the logits are equal.
        using (var written = DeepSeekModel.Load(directory, new ModelLoadOptions { TestBackend = () => new CpuBackend(), MaxContext = 16 }))
        using (var generated = DeepSeekModel.Load(configPath, new ModelLoadOptions { SyntheticSeed = 5, TestBackend = () => new CpuBackend(), MaxContext = 16 }))
            Assert.Equal(Logits(written), Logits(generated));

        // The kernel path reads the checkpoint's bf16 in place, at the file's offsets, where the generated weights sit on
        // fresh buffers: kernels whose 16-byte loads need aligned rows sum in another order there, so the last bits may differ.
        using var mapped = DeepSeekModel.Load(directory, new ModelLoadOptions { Device = "cpu", MaxContext = 16 });
        var expected = Logits(mapped);
        var actual = SyntheticLogits(configPath, seed: 5);
        var scale = expected.Max(MathF.Abs);
        var worst = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        Assert.True(worst <= 1e-5f * scale, $"largest logit difference {worst} against logits up to {scale}");
    }

    /// <summary>
    /// On the kernel backend's generated CPU path ("cpu"), against the fp32 reference backend: the loader and the device storage are the same code on
    /// every kernel device. The generator kernels run on ILGPU's CPU accelerator (the GPUs' code) in
    /// <see cref="GeneratedWeightTests"/>, and the model's forward pass there in the kernel backend's golden tests; a model
    /// loaded there compiles every kernel again (the FP8 case took 4 minutes there on two busy cores).
    /// </summary>
    [Theory]
    [InlineData(Fixtures.Bf16)]
    [InlineData(Fixtures.Fp8Yarn)]
    public void The_kernel_backend_generates_the_weights_on_its_device_and_matches_the_reference_backend(string fixture)
    {
        float[] expected;
        using (var reference = DeepSeekModel.Load(ConfigOf(fixture), new ModelLoadOptions { SyntheticSeed = 3, TestBackend = () => new CpuBackend(), MaxContext = 16 }))
            expected = Logits(reference);
        using var model = DeepSeekModel.Load(ConfigOf(fixture), new ModelLoadOptions { SyntheticSeed = 3, Device = "cpu", MaxContext = 16 });
        var actual = Logits(model);

        // The cross-backend contract of RealWidthAttentionTests.
        Assert.Equal(expected.Length, actual.Length);
        var scale = expected.Max(MathF.Abs);
        var worst = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        Assert.True(scale > 0 && worst <= 1e-3f * scale, $"largest logit difference {worst} against logits up to {scale}");

        // Made on the device: the only weights that came from the host are the norm vectors (generated there, one chunk each).
        var storage = Assert.IsType<KernelModelBackend>(model.Backend).Storage;
        var layout = CheckpointLayout.For(model.Config);
        Assert.True(storage.GeneratedBytes > 0);
        Assert.InRange(storage.UploadedChunks, 1, layout.Count(t => t.Role == TensorRole.NormWeight));
        Assert.Contains("synthetic weights, seed 3", model.DeviceDescription);
    }

    [Fact]
    public void A_model_that_does_not_fit_is_refused_in_one_line_naming_the_config_and_the_bytes()
    {
        var config = ConfigOf(Fixtures.Fp8Yarn);

        var error = Assert.Throws<UserInputException>(() =>
            DeepSeekModel.Load(config, new ModelLoadOptions { SyntheticSeed = 0, Device = "ilgpu-cpu", MaxContext = 64, AvailableMemoryBytes = 1 << 20 }));

        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith($"{config}: the model needs ", error.Message);
        Assert.Contains("FP8 weights", error.Message);
        Assert.Contains("but only 1.0 MiB is available", error.Message);
    }

    [Fact]
    public void The_full_size_model_is_refused_on_this_machine_not_allocated()
    {
        using var folder = new TemporaryFolder();
        var config = Path.Combine(folder.Path, "deepseek-v3.2.json");
        File.WriteAllText(config, ModelPresets.DeepSeekV32.ToJson());

        var error = Assert.Throws<UserInputException>(() => DeepSeekModel.Load(config, new ModelLoadOptions { SyntheticSeed = 0, Device = "ilgpu-cpu" }));

        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith($"{config}: the model needs ", error.Message);
        Assert.Contains("GiB FP8 weights", error.Message);
    }

    [Fact]
    public void A_missing_config_names_the_file_and_a_folder_without_weights_is_enough()
    {
        using var folder = new TemporaryFolder();
        var missing = Path.Combine(folder.Path, "config.json");

        var error = Assert.ThrowsAny<UserInputException>(() => DeepSeekModel.Load(folder.Path, new ModelLoadOptions { SyntheticSeed = 0, Device = "cpu" }));
        Assert.Contains(missing, error.Message);
        Assert.DoesNotContain('\n', error.Message);

        // The folder holds only config.json: no safetensors, no tokenizer.
        File.Copy(ConfigOf(Fixtures.Bf16), missing);
        using var model = DeepSeekModel.Load(folder.Path, new ModelLoadOptions { SyntheticSeed = 0, Device = "cpu", MaxContext = 16 });
        Assert.All(Logits(model), value => Assert.True(float.IsFinite(value)));
    }

    [Fact]
    public void A_parsed_config_needs_no_file_and_the_path_only_names_the_model()
    {
        var config = ModelPresets.Tiny with { NumHiddenLayers = 2 };

        using var model = DeepSeekModel.Load("tiny preset", new ModelLoadOptions { Config = config, SyntheticSeed = 0, Device = "cpu", MaxContext = 16 });
        Assert.Equal(2, model.Config.NumHiddenLayers);
        Assert.All(Logits(model), value => Assert.True(float.IsFinite(value)));

        var refused = Assert.Throws<UserInputException>(() =>
            DeepSeekModel.Load("tiny preset", new ModelLoadOptions { Config = config, SyntheticSeed = 0, Device = "cpu", AvailableMemoryBytes = 1024 }));
        Assert.StartsWith("tiny preset: the model needs ", refused.Message);
    }

    [Fact]
    public void An_invalid_config_names_the_file_and_the_field()
    {
        using var folder = new TemporaryFolder();
        var config = Path.Combine(folder.Path, "config.json");
        File.WriteAllText(config, File.ReadAllText(ConfigOf(Fixtures.Bf16)).Replace("\"hidden_size\"", "\"hidden_size_typo\"", StringComparison.Ordinal));

        var error = Assert.Throws<ConfigException>(() => DeepSeekModel.Load(config, new ModelLoadOptions { SyntheticSeed = 0, Device = "cpu" }));

        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains(config, error.Message);
        Assert.Contains("hidden_size", error.Message);
    }
}
