using System.Text.Json;
using KernelSharp.Cli.Verbs;

namespace KernelSharp.Cli.Tests;

public sealed class OtherVerbTests
{
    [Fact]
    public void Bench_prints_a_markdown_table_with_pp_and_tg_rows()
    {
        CliResult result = Cli.Run("bench", "-m", Fixtures.TinyBf16, "-p", "16", "-n", "4", "-r", "2");
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.Stdout.Split('\n');
        Assert.StartsWith("device: ", lines[0]);
        Assert.StartsWith("model: tiny-dsa-bf16: 3 layers", lines[1]);
        Assert.Contains("| model | size | params | backend | test | t/s |", lines);
        Assert.Single(lines, l => l.StartsWith("| tiny-dsa-bf16 |") && l.Contains("| pp16 |"));
        Assert.Single(lines, l => l.StartsWith("| tiny-dsa-bf16 |") && l.Contains("| tg4 |"));
    }

    [Fact]
    public void Bench_depth_decodes_after_an_untimed_prefill_and_checks_the_context()
    {
        CliResult result = Cli.Run("bench", "-m", Fixtures.TinyBf16, "-p", "0", "-n", "4", "-d", "40", "-r", "1");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("| tg4 @ d40 |", result.Stdout);

        CliResult tooDeep = Cli.Run("bench", "-m", Fixtures.TinyBf16, "-p", "0", "-n", "4", "-d", "4093", "-r", "1");
        Assert.Equal(2, tooDeep.ExitCode);
        Assert.Contains("more than the model's context of 4096", tooDeep.Stderr);
    }

    [Fact]
    public void Bench_depth_fill_random_writes_the_cache_without_a_prefill_and_rejects_other_values()
    {
        CliResult result = Cli.Run("bench", "-m", Fixtures.TinyBf16, "-p", "0", "-n", "3", "-d", "100,3000", "--depth-fill", "random", "-r", "1");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("| tg3 @ d100 (random keys) |", result.Stdout);
        Assert.Contains("| tg3 @ d3000 (random keys) |", result.Stdout);

        CliResult wrong = Cli.Run("bench", "-m", Fixtures.TinyBf16, "-p", "0", "-n", "3", "-d", "30", "--depth-fill", "zeros");
        Assert.Equal(2, wrong.ExitCode);
        Assert.Contains("depth-fill", wrong.Stderr);
        CliResult badList = Cli.Run("bench", "-m", Fixtures.TinyBf16, "-p", "0", "-n", "3", "-d", "100,x");
        Assert.Equal(2, badList.ExitCode);
        Assert.Contains("separated by commas", badList.Stderr);
    }

    [Fact]
    public void Bench_json_has_one_result_per_test_with_every_sample()
    {
        CliResult result = Cli.Run("bench", "-m", Fixtures.TinyFp8Yarn, "-p", "8", "-n", "3", "-r", "3", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using JsonDocument json = JsonDocument.Parse(result.Stdout);
        JsonElement[] results = json.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["pp8", "tg3"], results.Select(r => r.GetProperty("test").GetString()));
        Assert.All(results, r => Assert.Equal(3, r.GetProperty("samples_ts").GetArrayLength()));
        Assert.All(results, r => Assert.True(r.GetProperty("avg_ts").GetDouble() > 0));
        Assert.Equal("tiny-dsa-fp8-yarn", json.RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public void Inspect_reports_config_parameters_dtypes_memory_and_tensors()
    {
        CliResult result = Cli.Run("inspect", "-m", Fixtures.TinyFp8Yarn, "--tensors");
        Assert.True(result.ExitCode == 0, result.ToString());
        string text = result.Stdout;
        Assert.Contains("layers: 3 (1 dense + 2 MoE), hidden 128, vocab 512", text);
        Assert.Contains("rope: yarn", text);
        Assert.Contains("quantization: fp8", text);
        Assert.Contains("active per token", text);
        Assert.Contains("MTP layer", text);
        Assert.Contains("F8_E4M3", text);
        Assert.Contains("cpu (fp8 weights)", text); // read as stored, not widened
        Assert.DoesNotContain("fp32 weights", text);
        // 3 layers of kv_lora 64 + rope 16 and index keys of 32: fp32 (64 + 16) · 4 + 32 · 4; FP8 latent rows of 64 e4m3,
        // one scale and 16 bf16 rounded to 16 bytes (112), FP8 index keys 32 e4m3 + one scale
        Assert.Contains("kv cache per token of context: fp32 1344 B (320 latent + 128 index keys per layer), fp8 444 B (112 latent + 36 index keys per layer)", text);
        Assert.Contains("model.layers.0.self_attn.kv_a_proj_with_mqa.weight", text);
    }

    [Fact]
    public void Inspect_active_parameters_count_only_the_routed_experts_a_token_uses()
    {
        CliResult result = Cli.Run("inspect", "-m", Fixtures.TinyBf16);
        Assert.True(result.ExitCode == 0, result.ToString());
        // tiny: 2 MoE layers × 16 routed experts × 3 projections of 128×64; 4 of 16 are active.
        long routed = 2L * 16 * 3 * 128 * 64;
        Assert.Contains($"routed experts {Hosting.Sizes.Count(routed)}", result.Stdout);
    }

    [Theory]
    [InlineData("KernelsClass.SparseMlaAttentionBf16Cache", "sparse mla attention bf16 cache")]
    [InlineData("X.GroupedFfnGateUpFp8", "grouped ffn gate up fp8")]
    [InlineData("X.TopKSelect", "top k select")]
    [InlineData("X.Argmax", "argmax")]
    public void Kernel_names_read_as_words(string name, string expected) => Assert.Equal(expected, KernelsVerb.ReadableName(name));

    [Fact]
    public void Devices_always_lists_the_cpu()
    {
        CliResult result = Cli.Run("devices");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("CPU: ", result.Stdout);
        Assert.Matches(@"(?m)^NCCL( [0-9.]+: .+|: not found \(NCCL \(libnccl\.so\.2\) was not found: .+\))$", result.Stdout);
    }

    [Fact]
    public void Kernels_lists_every_kernel_found_by_reflection_and_the_autotuner_cache()
    {
        using var temp = new TempDirectory();
        string cache = temp.Combine("autotune.json");
        File.WriteAllText(cache, "{\"cpu|RmsNorm|4096\": \"RmsNorm__blockSize256\"}");
        string? previous = Environment.GetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE");
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE", cache);
        try
        {
            CliResult result = Cli.Run("kernels");
            Assert.True(result.ExitCode == 0, result.ToString());
            var kernels = KernelsVerb.FindKernels();
            Assert.NotEmpty(kernels); // the generator gives every kernel class a ...Variants list
            Assert.StartsWith($"{kernels.Count} kernels, {kernels.Sum(k => k.Variants.Count)} variants", result.Stdout);
            foreach (var kernel in kernels)
            {
                Assert.Contains($"{kernel.Name}: {KernelsVerb.ReadableName(kernel.Name)} ({kernel.Variants.Count} variant", result.Stdout);
                Assert.DoesNotContain("group size ?", result.Stdout);
                Assert.All(kernel.Variants, v => Assert.Contains(v.Method, result.Stdout));
            }
            Assert.Contains("cpu|RmsNorm|4096 -> RmsNorm__blockSize256", result.Stdout);
            // Issue 3: every operation of a DeepSeek-V3.2 forward pass can be found by its name.
            foreach (string operation in new[] { "indexer", "topk", "sparse mla", "rmsnorm", "layernorm", "rope", "swiglu", "router",
                "grouped ffn", "combine", "gemv", "gemm", "fp8", "embed", "argmax" })
                Assert.Contains(operation, result.Stdout, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE", previous);
        }
    }

    [Fact]
    public void Kernels_says_an_unusable_autotuner_cache_is_unusable_not_empty()
    {
        using var temp = new TempDirectory();
        string cache = temp.Combine("autotune.json");
        File.WriteAllText(cache, "{\"cpu|RmsNorm|4096\": ");
        string? previous = Environment.GetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE");
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE", cache);
        try
        {
            CliResult result = Cli.Run("kernels");
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains($"autotuner cache {cache}: unusable (not a JSON object of kernel choices: ", result.Stdout);
            Assert.DoesNotContain("no choices saved", result.Stdout);
            Assert.Equal("{\"cpu|RmsNorm|4096\": ", File.ReadAllText(cache)); // listing it changes nothing
        }
        finally
        {
            Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE", previous);
        }
    }
}
