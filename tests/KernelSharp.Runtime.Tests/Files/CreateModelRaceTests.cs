using KernelSharp.Runtime.Tests.Checkpoints;
using Xunit;

namespace KernelSharp.Runtime.Tests.Files;

/// <summary>create-model's publishing: a target that appears while writing is never replaced without --force, two
/// concurrent writers give one complete checkpoint and one clear failure, a trailing separator is harmless.</summary>
public sealed class CreateModelRaceTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void A_folder_created_while_writing_is_kept_and_the_writer_fails_clearly()
    {
        string target = temp.File("out");
        var appears = new Progress(() =>
        {
            Directory.CreateDirectory(target);
            File.WriteAllText(Path.Combine(target, "notes.txt"), "the user's");
        });
        var error = Assert.Throws<UserInputException>(() =>
            RandomCheckpointWriter.Write(ModelPresets.Tiny, target, 1, WeightFormat.Bf16, progress: appears));
        Assert.Contains("appeared while the checkpoint was being written", error.Message);
        Assert.Equal("the user's", File.ReadAllText(Path.Combine(target, "notes.txt")));
        Assert.Single(Directory.GetFileSystemEntries(temp.Path)); // no partial left
    }

    [Fact]
    public void Two_concurrent_writers_give_one_complete_checkpoint_and_one_clear_error()
    {
        string target = temp.File("out");
        using var bothStarted = new Barrier(2);
        Exception?[] errors = new Exception?[2];
        Parallel.For(0, 2, i => errors[i] = Record.Exception(() =>
            RandomCheckpointWriter.Write(ModelPresets.Tiny, target, seed: i, WeightFormat.Bf16, progress: new Progress(() => bothStarted.SignalAndWait(TimeSpan.FromSeconds(30))))));

        Assert.Single(errors, e => e is null);
        Assert.IsType<UserInputException>(Assert.Single(errors, e => e is not null));
        using Checkpoint checkpoint = Checkpoint.Open(target);
        CheckpointLayout.Verify(ModelConfig.Load(Path.Combine(target, "config.json")), checkpoint);
        Assert.Single(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void A_trailing_separator_with_force_replaces_the_checkpoint_and_leaves_no_partial()
    {
        string target = temp.File("out");
        RandomCheckpointWriter.Write(ModelPresets.Tiny, target, 1, WeightFormat.Bf16);
        RandomCheckpointWriter.Write(ModelPresets.Tiny, target + Path.DirectorySeparatorChar, 2, WeightFormat.Fp8, force: true);
        using (Checkpoint checkpoint = Checkpoint.Open(target))
        {
            Assert.Equal(TensorDType.F8_E4M3, checkpoint.GetInfo("model.layers.0.mlp.up_proj.weight").DType);
        }
        Assert.Equal([target], Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void A_target_holding_an_input_is_refused_even_with_force()
    {
        string target = temp.File("out");
        RandomCheckpointWriter.Write(ModelPresets.Tiny, target, 1, WeightFormat.Bf16);
        string config = Path.Combine(target, "config.json");
        var inputs = new ProtectedInputs().AddFile(config);
        var error = Assert.Throws<UserInputException>(() =>
            RandomCheckpointWriter.Write(ModelPresets.Tiny, target, 2, WeightFormat.Bf16, force: true, inputs: inputs));
        Assert.Contains("would replace or hold the input", error.Message);
        Assert.True(File.Exists(config));
    }

    [Theory]
    [InlineData(2_000_000_000, 16)]
    [InlineData(3, 2_000_000_000)]
    public void Absurd_sizes_are_refused_before_planning(int layers, int experts)
    {
        ModelConfig config = ModelPresets.Tiny with { NumHiddenLayers = layers, NRoutedExperts = experts, NGroup = 1, TopkGroup = 1 };
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var error = Assert.IsAssignableFrom<UserInputException>(Record.Exception(() => RandomCheckpointWriter.Write(config, temp.File("huge"), 1, WeightFormat.Bf16)));
        Assert.Contains("tensors; at most", error.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64L << 20);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Memory_estimates_never_wrap_to_a_negative_size()
    {
        ModelConfig huge = ModelPresets.Tiny with { NumHiddenLayers = int.MaxValue, HiddenSize = int.MaxValue };
        Assert.Contains("larger than 64-bit sizes can count", Assert.Throws<UserInputException>(() => KernelSharp.Runtime.Model.MemoryEstimate.For(huge, KernelSharp.Runtime.Model.WeightStorage.Float32, 4096)).Message);
        Assert.Equal(long.MaxValue, new KernelSharp.Runtime.Model.MemoryEstimate(long.MaxValue - 1, 10).TotalBytes);
    }

    /// <summary>Runs an action at the first progress report (the writer reports after each tensor it writes).</summary>
    private sealed class Progress(Action once) : IProgress<double>
    {
        private int fired;

        public void Report(double value)
        {
            if (Interlocked.Exchange(ref fired, 1) == 0)
            {
                once();
            }
        }
    }
}
