using KernelSharp.Runtime;

namespace KernelSharp.Cli.Tests;

public sealed class CreateModelTests
{
    [Fact]
    public void A_created_model_can_be_inspected_and_run()
    {
        using var temp = new TempDirectory();
        string model = temp.Combine("random-fp8");
        CliResult created = Cli.Run("create-model", "--preset", "tiny", "-o", model, "-s", "3", "--dtype", "fp8", "--shards", "3",
            "--tokenizer", Path.Combine(Fixtures.TinyBf16, "tokenizer.json"));
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.StartsWith($"wrote {model}: 3 layers", created.Stdout);
        Assert.True(File.Exists(Path.Combine(model, "model.safetensors.index.json")));
        Assert.Equal(3, Directory.GetFiles(model, "model-*.safetensors").Length);

        CliResult inspected = Cli.Run("inspect", "-m", model);
        Assert.True(inspected.ExitCode == 0, inspected.ToString());
        Assert.Contains("files: 3 safetensors", inspected.Stdout);
        Assert.Contains("F8_E4M3", inspected.Stdout);

        string output = temp.Combine("logits.safetensors");
        CliResult logits = Cli.Run("logits", "-m", model, "--tokens", "5,6,7,8", "-o", output);
        Assert.True(logits.ExitCode == 0, logits.ToString());
        float[] values = Golden.Floats(output, "logits", out long[] shape);
        Assert.Equal([4L, 512L], shape);
        Assert.All(values, v => Assert.True(float.IsFinite(v)));

        CliResult generated = Cli.Run("generate", "-m", model, "-p", "Hi", "-n", "4", "--temp", "0", "--ignore-eos");
        Assert.True(generated.ExitCode == 0, generated.ToString());
    }

    [Fact]
    public void The_same_seed_writes_the_same_weights()
    {
        using var temp = new TempDirectory();
        Assert.Equal(0, Cli.Run("create-model", "--preset", "tiny", "-o", temp.Combine("a"), "-s", "9").ExitCode);
        Assert.Equal(0, Cli.Run("create-model", "--preset", "tiny", "-o", temp.Combine("b"), "-s", "9").ExitCode);
        Assert.Equal(File.ReadAllBytes(temp.Combine("a", "model.safetensors")), File.ReadAllBytes(temp.Combine("b", "model.safetensors")));
    }

    [Fact]
    public void An_existing_checkpoint_is_kept_unless_force_is_given()
    {
        using var temp = new TempDirectory();
        string model = temp.Combine("model");
        string weights = Path.Combine(model, "model.safetensors");
        Assert.Equal(0, Cli.Run("create-model", "--preset", "tiny", "-o", model, "-s", "1").ExitCode);
        byte[] original = File.ReadAllBytes(weights);

        CliResult refused = Cli.Run("create-model", "--preset", "tiny", "-o", model, "-s", "2");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains(model, Assert.Single(refused.ErrorLines));
        Assert.Equal(original, File.ReadAllBytes(weights));

        CliResult forced = Cli.Run("create-model", "--preset", "tiny", "-o", model, "-s", "2", "--force");
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.NotEqual(original, File.ReadAllBytes(weights));
        Assert.Equal([model], Directory.GetDirectories(temp.Path));
    }

    [Fact]
    public void A_folder_that_is_not_a_checkpoint_is_never_replaced_even_with_force()
    {
        using var temp = new TempDirectory();
        string folder = temp.Combine("documents");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "keep.txt"), "precious");

        CliResult refused = Cli.Run("create-model", "--preset", "tiny", "-o", folder, "--force");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains(folder, Assert.Single(refused.ErrorLines));
        Assert.Equal(["keep.txt"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Fact]
    public void A_config_file_is_accepted_and_a_bad_one_is_reported_by_name()
    {
        using var temp = new TempDirectory();
        CliResult fromConfig = Cli.Run("create-model", "--config", Path.Combine(Fixtures.TinyFp8Yarn, "config.json"), "-o", temp.Combine("m"));
        Assert.True(fromConfig.ExitCode == 0, fromConfig.ToString());

        string badConfig = temp.Combine("bad.json");
        File.WriteAllText(badConfig, "{ \"vocab_size\": 512 ");
        CliResult bad = Cli.Run("create-model", "--config", badConfig, "-o", temp.Combine("n"));
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains(badConfig, Assert.Single(bad.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("n")));
    }

    [Fact]
    public void A_tokenizer_that_the_tokenizer_loader_cannot_read_is_refused_by_name_before_anything_is_written()
    {
        using var temp = new TempDirectory();
        string notJson = temp.Combine("notes.txt");
        File.WriteAllText(notJson, "not a tokenizer");
        string noModel = temp.Combine("other.json");
        File.WriteAllText(noModel, "{\"version\": \"1.0\", \"added_tokens\": []}");
        string aConfig = Path.Combine(Fixtures.TinyBf16, "config.json");

        foreach ((string tokenizer, string reason) in new[] { (notJson, "tokenizer file is not valid JSON at line 1"), (noModel, "model: missing"), (aConfig, "model: missing") })
        {
            string model = temp.Combine("model");
            CliResult refused = Cli.Run("create-model", "--preset", "tiny", "-o", model, "--tokenizer", tokenizer);
            Assert.True(refused.ExitCode == 1, refused.ToString());
            string line = Assert.Single(refused.ErrorLines);
            Assert.StartsWith($"error: {tokenizer}: ", line);
            Assert.Contains(reason, line);
            Assert.False(Directory.Exists(model));
        }

        // The tokenizer.json found beside --config is checked as well, not copied blindly.
        string source = temp.Combine("source");
        Directory.CreateDirectory(source);
        File.Copy(aConfig, Path.Combine(source, "config.json"));
        File.WriteAllText(Path.Combine(source, "tokenizer.json"), "{}");
        CliResult beside = Cli.Run("create-model", "--config", Path.Combine(source, "config.json"), "-o", temp.Combine("from-config"));
        Assert.True(beside.ExitCode == 1, beside.ToString());
        Assert.StartsWith($"error: {Path.Combine(source, "tokenizer.json")}: ", Assert.Single(beside.ErrorLines));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(temp.Path), entry => Path.GetFileName(entry).Contains("from-config", StringComparison.Ordinal));
    }

    [Fact]
    public void Ctrl_c_during_the_write_exits_130_and_leaves_nothing_behind()
    {
        using var temp = new TempDirectory();
        using var interrupt = new CancellationTokenSource();
        interrupt.Cancel(); // pressed before the first progress report: the writer must unwind from its first step
        CliResult result = Cli.Run(new StringWriter(), interrupt.Token, "create-model", "--preset", "tiny", "-o", temp.Combine("model"));
        Assert.True(result.ExitCode == 130, result.ToString());
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Layers_keeps_every_width_and_the_first_layers_only()
    {
        using var temp = new TempDirectory();
        string model = temp.Combine("slice");
        CliResult created = Cli.Run("create-model", "--preset", "tiny", "--layers", "2", "-o", model, "-s", "4");
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.StartsWith($"wrote {model}: 2 layers", created.Stdout);

        var full = ModelPresets.Tiny;
        var written = ModelConfig.Load(Path.Combine(model, "config.json"));
        Assert.Equal(2, written.NumHiddenLayers);
        Assert.Equal(
            (full.HiddenSize, full.IntermediateSize, full.MoeIntermediateSize, full.NumAttentionHeads, full.NRoutedExperts, full.FirstKDenseReplace, full.VocabSize),
            (written.HiddenSize, written.IntermediateSize, written.MoeIntermediateSize, written.NumAttentionHeads, written.NRoutedExperts, written.FirstKDenseReplace, written.VocabSize));
        CliResult inspected = Cli.Run("inspect", "-m", model);
        Assert.True(inspected.ExitCode == 0, inspected.ToString());
        using var checkpoint = Checkpoint.Open(model);
        Assert.Contains(checkpoint.TensorNames, name => name.StartsWith("model.layers.1.", StringComparison.Ordinal));
        Assert.DoesNotContain(checkpoint.TensorNames, name => name.StartsWith("model.layers.2.", StringComparison.Ordinal));
    }

    [Fact]
    public void Layers_below_first_k_dense_replace_give_an_all_dense_slice()
    {
        using var temp = new TempDirectory();
        Assert.Equal(0, Cli.Run("create-model", "--preset", "tiny", "-o", temp.Combine("source")).ExitCode);
        string config = temp.Combine("source", "config.json");
        // Three dense layers first, as deepseek-v3.2 has.
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"first_k_dense_replace\": 1", "\"first_k_dense_replace\": 3"));
        Assert.Contains("\"first_k_dense_replace\": 3", File.ReadAllText(config));

        CliResult created = Cli.Run("create-model", "--config", config, "--layers", "2", "-o", temp.Combine("slice"));
        Assert.True(created.ExitCode == 0, created.ToString());
        var written = ModelConfig.Load(temp.Combine("slice", "config.json"));
        Assert.Equal((2, 2), (written.NumHiddenLayers, written.FirstKDenseReplace));
        using var checkpoint = Checkpoint.Open(temp.Combine("slice"));
        Assert.DoesNotContain(checkpoint.TensorNames, name => name.Contains(".mlp.experts.", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("4")]
    [InlineData("two")]
    public void Layers_outside_the_config_is_one_usage_error(string layers)
    {
        using var temp = new TempDirectory();
        CliResult refused = Cli.Run("create-model", "--preset", "tiny", "--layers", layers, "-o", temp.Combine("m"));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--layers", Assert.Single(refused.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("m")));
    }

    [Fact]
    public void A_config_with_fp8_quantization_writes_fp8_unless_told_otherwise()
    {
        using var temp = new TempDirectory();
        // An FP8 checkpoint's config.json carries quantization_config, as the release's does.
        Assert.Equal(0, Cli.Run("create-model", "--preset", "tiny", "--dtype", "fp8", "-o", temp.Combine("source")).ExitCode);
        string config = temp.Combine("source", "config.json");
        Assert.Contains("quantization_config", File.ReadAllText(config));
        Assert.Equal(0, Cli.Run("create-model", "--config", config, "-o", temp.Combine("fp8")).ExitCode);
        Assert.Equal(0, Cli.Run("create-model", "--config", config, "--dtype", "bf16", "-o", temp.Combine("bf16")).ExitCode);
        Assert.Contains("F8_E4M3", Cli.Run("inspect", "-m", temp.Combine("fp8")).Stdout);
        Assert.DoesNotContain("F8_E4M3", Cli.Run("inspect", "-m", temp.Combine("bf16")).Stdout);
    }
}
