using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tests.Golden;
using KernelSharp.Runtime.Tests.Reference;
using Xunit;

namespace KernelSharp.Runtime.Tests.Model;

/// <summary>Loading: progress, the memory check, the device report, and one-line errors for user mistakes.</summary>
public sealed class ModelLoadingTests
{
    [Fact]
    public void Load_reports_progress_up_to_one_and_names_the_device()
    {
        var reports = new List<double>();
        using var model = DeepSeekModel.Load(Fixtures.Directory(Fixtures.Fp8Yarn), new ModelLoadOptions { Device = "cpu", Progress = new SynchronousProgress(reports) });

        // one report per tensor read, then the final 1.0: the tensor count is exact when the last read already says 1.0
        Assert.Equal(1.0, reports[^1]);
        Assert.Equal(1.0, reports[^2]);
        Assert.True(reports[^3] < 1.0);
        Assert.Equal(reports.Order(), reports);
        Assert.StartsWith("FastCpu", model.DeviceDescription);
        Assert.Equal(3, model.Config.NumHiddenLayers);
    }

    [Fact]
    public void Load_uses_the_config_the_caller_already_parsed()
    {
        string directory = Fixtures.Directory(Fixtures.Bf16);
        var parsed = ModelConfig.Load(Path.Combine(directory, "config.json"));
        using var model = DeepSeekModel.Load(directory, new ModelLoadOptions { Device = "cpu", Config = parsed });
        Assert.Same(parsed, model.Config);
    }

    [Fact]
    public void Load_refuses_a_model_that_does_not_fit_with_one_line_naming_needed_and_available_memory()
    {
        var error = Assert.Throws<UserInputException>(() =>
            DeepSeekModel.Load(Fixtures.Directory(Fixtures.Bf16), new ModelLoadOptions { Device = "cpu", AvailableMemoryBytes = 1 << 20 }));

        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("needs", error.Message);
        Assert.Contains("1.0 MiB is available", error.Message);
        Assert.Contains("try", error.Message);
    }

    [Fact]
    public void A_backend_that_keeps_weights_as_stored_is_budgeted_for_them_and_its_sessions_for_what_is_left()
    {
        var directory = Fixtures.Directory(Fixtures.Fp8Yarn);
        var config = ModelConfig.Load(Path.Combine(directory, "config.json"));
        var fp8 = MemoryEstimate.For(config, WeightStorage.Fp8, 4096, KvCacheFormat.Fp32, embeddingAsStored: true); // the CPU reads the embedding in place
        var fp32 = MemoryEstimate.For(config, WeightStorage.Float32, 4096);
        var between = fp8.TotalBytes + ((fp32.TotalBytes - fp8.TotalBytes) / 2); // room for FP8 weights, not for fp32 ones

        // A backend that widens weights to fp32 (the tests' reference) is budgeted for fp32 weights, and refused here.
        var refused = Assert.Throws<UserInputException>(() =>
            DeepSeekModel.Load(directory, new ModelLoadOptions { TestBackend = () => new CpuBackend(), MaxContext = 4096, AvailableMemoryBytes = between }));
        Assert.Contains("fp32 weights", refused.Message);

        using var model = DeepSeekModel.Load(directory, new ModelLoadOptions { Device = "cpu", MaxContext = 4096, AvailableMemoryBytes = between });
        using (model.CreateSession(4096))
        {
        }

        // A session whose caches do not fit next to the weights: one line, no allocation attempted.
        var perToken = MemoryEstimate.For(config, WeightStorage.Fp8, 1).CacheBytes;
        var tooLong = (int)((between - fp8.WeightBytes) / perToken) + 1;
        var session = Assert.Throws<UserInputException>(() => model.CreateSession(tooLong));
        Assert.DoesNotContain('\n', session.Message);
        Assert.Contains($"a session of {tooLong} tokens", session.Message);
    }

    [Fact]
    public void Load_of_a_folder_without_a_config_names_the_file()
    {
        using var empty = new TemporaryFolder();

        var error = Assert.ThrowsAny<UserInputException>(() => DeepSeekModel.Load(empty.Path));

        Assert.Contains("config.json", error.Message);
    }

    [Fact]
    public void A_checkpoint_that_disagrees_with_its_config_names_the_file_and_tensor()
    {
        using var copy = new TemporaryFolder();
        var source = Fixtures.Directory(Fixtures.Bf16);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(copy.Path, Path.GetFileName(file)));
        }

        var configPath = Path.Combine(copy.Path, "config.json");
        File.SetAttributes(configPath, FileAttributes.Normal);
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"q_lora_rank\": 64", "\"q_lora_rank\": 48", StringComparison.Ordinal));

        var error = Assert.ThrowsAny<UserInputException>(() => DeepSeekModel.Load(copy.Path, new ModelLoadOptions { Device = "cpu" }));

        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("model.layers.0.self_attn.q_a_proj.weight", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Unknown_device_names_the_choices()
    {
        var error = Assert.Throws<UserInputException>(() => DeepSeekModel.Load(Fixtures.Directory(Fixtures.Bf16), new ModelLoadOptions { Device = "tpu" }));

        Assert.Contains("'tpu'", error.Message);
        Assert.Contains("cuda", error.Message);
    }

    [Fact]
    public void Sessions_reject_out_of_vocabulary_tokens_and_overflowing_contexts_without_changing_the_cache()
    {
        var model = Fixtures.Model(Fixtures.Bf16);
        using var session = model.CreateSession(4);
        session.Prefill([1, 2]);

        Assert.Contains("outside the vocabulary", Assert.Throws<UserInputException>(() => session.Decode(model.Config.VocabSize)).Message);
        Assert.Contains("at most 4", Assert.Throws<UserInputException>(() => session.Prefill([1, 2, 3])).Message);
        Assert.Throws<UserInputException>(() => session.Prefill([]));
        Assert.Equal(2, session.Length);
        Assert.Throws<UserInputException>(() => model.CreateSession(0));
        Assert.Contains("try a shorter maximum context", Assert.Throws<UserInputException>(() => model.CreateSession(int.MaxValue)).Message);
    }

    [Fact]
    public void DecodeBatch_rejects_mismatched_or_repeated_sessions()
    {
        var model = Fixtures.Model(Fixtures.Bf16);
        using var a = model.CreateSession(8);
        using var b = model.CreateSession(8);

        Assert.Throws<UserInputException>(() => model.DecodeBatch([a, b], [1]));
        Assert.Throws<UserInputException>(() => model.DecodeBatch([a, a], [1, 2]));
        Assert.Equal(0, a.Length);
    }

    [Fact]
    public void PrefillLast_returns_the_last_row_of_prefill()
    {
        var model = Fixtures.Model(Fixtures.Bf16);
        using var full = model.CreateSession(8);
        using var last = model.CreateSession(8);
        int[] tokens = [5, 6, 7];

        var all = full.Prefill(tokens);

        Assert.Equal(all.AsSpan(2 * model.Config.VocabSize).ToArray(), last.PrefillLast(tokens));
        Assert.Equal(model.Config.VocabSize, last.VocabSize);
        Assert.Equal(8, last.MaxContext);
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests need the reports in order and complete.</summary>
    private sealed class SynchronousProgress(List<double> reports) : IProgress<double>
    {
        public void Report(double value) => reports.Add(value);
    }
}

/// <summary>A fresh folder under the temp folder, deleted on dispose.</summary>
internal sealed class TemporaryFolder : IDisposable
{
    public TemporaryFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ks-model-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
