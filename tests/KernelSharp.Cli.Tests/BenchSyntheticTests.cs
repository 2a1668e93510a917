using System.Text.Json;
using KernelSharp.Runtime;

namespace KernelSharp.Cli.Tests;

/// <summary>
/// <c>bench --synthetic CONFIG</c>: a model measured from its config.json alone, weights generated from --seed. The
/// config is copied into an otherwise empty folder, so any read of safetensors or a tokenizer would fail the run.
/// </summary>
public sealed class BenchSyntheticTests
{
    [Fact]
    public void Runs_end_to_end_from_a_config_alone()
    {
        using var temp = new TempDirectory();
        string config = temp.Combine("config.json");
        File.Copy(Path.Combine(Fixtures.TinyBf16, "config.json"), config);

        CliResult result = Cli.Run("bench", "--synthetic", config, "--seed", "7", "-p", "8", "-n", "3", "-r", "1");

        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.Stdout.Split('\n');
        Assert.EndsWith("; synthetic weights, seed 7", lines[0]);
        string model = Path.GetFileName(temp.Path) + " (synthetic, seed 7)";
        Assert.StartsWith($"model: {model}: 3 layers", lines[1]);
        Assert.Single(lines, l => l.StartsWith($"| {model} |") && l.Contains("| pp8 |"));
        Assert.Single(lines, l => l.StartsWith($"| {model} |") && l.Contains("| tg3 |"));
    }

    [Fact]
    public void Reports_the_size_and_parameters_of_the_checkpoint_create_model_would_write()
    {
        using var temp = new TempDirectory();
        string folder = temp.Combine("model");
        CliResult created = Cli.Run("create-model", "--config", Path.Combine(Fixtures.TinyFp8Yarn, "config.json"), "-o", folder, "--no-tokenizer");
        Assert.True(created.ExitCode == 0, created.ToString());

        CliResult synthetic = Cli.Run("bench", "--synthetic", Path.Combine(folder, "config.json"), "-p", "4", "-n", "1", "-r", "1", "--json");
        CliResult checkpoint = Cli.Run("bench", "-m", folder, "-p", "4", "-n", "1", "-r", "1", "--json");

        Assert.True(synthetic.ExitCode == 0, synthetic.ToString());
        Assert.True(checkpoint.ExitCode == 0, checkpoint.ToString());
        using JsonDocument generated = JsonDocument.Parse(synthetic.Stdout);
        using JsonDocument stored = JsonDocument.Parse(checkpoint.Stdout);
        Assert.Equal("model (synthetic, seed 0)", generated.RootElement.GetProperty("model").GetString());
        foreach (string property in new[] { "parameters", "active_parameters_per_token", "weight_bytes" })
        {
            Assert.Equal(stored.RootElement.GetProperty(property).GetInt64(), generated.RootElement.GetProperty(property).GetInt64());
        }
    }

    [Fact]
    public void Runs_the_fp8_config_on_the_kernel_backend_with_its_first_layers_only()
    {
        CliResult result = Cli.Run("bench", "--synthetic", Path.Combine(Fixtures.TinyFp8Yarn, "config.json"), "--layers", "1",
            "--device", "ilgpu-cpu", "-p", "4", "-n", "1", "-r", "1");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("model: tiny-dsa-fp8-yarn (synthetic, seed 0): 1 layers", result.Stdout);
        Assert.Contains("| IlgpuCpu | tg1 |", result.Stdout);
    }

    [Fact]
    public void A_preset_name_needs_no_file_and_a_full_size_preset_that_does_not_fit_is_refused_in_one_line()
    {
        using var temp = new TempDirectory();
        CliResult tiny = Cli.Run("bench", "--synthetic", "tiny", "-p", "4", "-n", "2", "-r", "1", "--device", "cpu");
        Assert.True(tiny.ExitCode == 0, tiny.ToString());
        Assert.Single(tiny.Stdout.Split('\n'), l => l.StartsWith("| tiny (synthetic, seed 0) |") && l.Contains("| tg2 |"));

        // The released model at every width in fp32 on the CPU backend: far beyond this machine, so one line, no crash.
        CliResult full = Cli.Run("bench", "--synthetic", "deepseek-v3.2", "-p", "0", "-n", "1", "-r", "1", "--device", "cpu");
        Assert.Equal(1, full.ExitCode);
        string error = Assert.Single(full.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: preset deepseek-v3.2: the model needs ", error);
    }

    [Fact]
    public void A_missing_config_is_one_line_naming_the_file()
    {
        using var temp = new TempDirectory();
        string missing = temp.Combine("nothing.json");

        CliResult result = Cli.Run("bench", "--synthetic", missing, "-p", "4", "-n", "1");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal([$"error: {missing}: file not found; a synthetic model needs the model's config.json (no weights or tokenizer)"], result.ErrorLines);
    }

    [Fact]
    public void An_invalid_config_is_one_line_naming_the_file_and_the_field()
    {
        using var temp = new TempDirectory();
        string config = temp.Combine("config.json");
        JsonElement fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.TinyBf16, "config.json"))).RootElement;
        File.WriteAllText(config, JsonSerializer.Serialize(fixture.EnumerateObject().Where(p => p.Name != "hidden_size").ToDictionary(p => p.Name, p => p.Value)));

        CliResult result = Cli.Run("bench", "--synthetic", config, "-p", "4", "-n", "1");

        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains(config, line);
        Assert.Contains("hidden_size", line);
    }

    [Fact]
    public void A_model_larger_than_the_memory_is_refused_in_one_line_before_anything_is_generated()
    {
        using var temp = new TempDirectory();
        string config = temp.Combine("deepseek-v3.2.json");
        File.WriteAllText(config, ModelPresets.DeepSeekV32.ToJson());

        CliResult result = Cli.Run("bench", "--synthetic", config, "--device", "cpu", "-p", "4", "-n", "1");

        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.StartsWith($"error: {config}: the model needs ", line);
        Assert.Contains("GiB FP8 weights", line); // kept as stored, memory-mapped
        Assert.Contains("is available", line);
        Assert.Equal(string.Empty, result.Stdout);
    }

    [Theory]
    [InlineData("--synthetic", "CONFIG", "-m", "DIR", "give -m DIR or --synthetic CONFIG, not both")]
    [InlineData("-m", "DIR", "--seed", "3", "--seed applies to --synthetic models only")]
    [InlineData("-m", "DIR", "--layers", "1", "--layers applies to --synthetic models only")]
    public void Options_that_do_not_go_together_are_usage_errors(string a, string aValue, string b, string bValue, string message)
    {
        string Resolve(string value) => value switch
        {
            "CONFIG" => Path.Combine(Fixtures.TinyBf16, "config.json"),
            "DIR" => Fixtures.TinyBf16,
            _ => value,
        };

        CliResult result = Cli.Run("bench", a, Resolve(aValue), b, Resolve(bValue), "-p", "4", "-n", "1");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
    }
}
