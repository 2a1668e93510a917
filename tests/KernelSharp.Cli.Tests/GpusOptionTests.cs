using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;

namespace KernelSharp.Cli.Tests;

/// <summary>--gpus: what it means, and one clear line for every request that cannot work.</summary>
public sealed class GpusOptionTests
{
    [Theory]
    [InlineData("1", new[] { 0 })]
    [InlineData("4", new[] { 0, 1, 2, 3 })]
    [InlineData("0,2,3", new[] { 0, 2, 3 })]
    [InlineData("5,", new[] { 5 })] // one GPU by its number
    [InlineData(" 3 , 1 ", new[] { 3, 1 })]
    public void A_count_means_the_first_GPUs_and_a_list_names_them(string text, int[] expected) =>
        Assert.Equal(expected, DevicePlacement.ParseGpus(text));

    [Theory]
    [InlineData("0", "--gpus must be a number of GPUs (1 … 64) or a list of GPU numbers such as 0,2,3, got '0'")]
    [InlineData("65", "--gpus must be a number of GPUs (1 … 64) or a list of GPU numbers such as 0,2,3, got '65'")]
    [InlineData("two", "--gpus must be a number of GPUs (1 … 64) or a list of GPU numbers such as 0,2,3, got 'two'")]
    [InlineData("0,x", "--gpus: 'x' in '0,x' is not a GPU number (0, 1, …)")]
    [InlineData("0,-1", "--gpus: '-1' in '0,-1' is not a GPU number (0, 1, …)")]
    [InlineData("1,1", "--gpus: '1,1' names a GPU twice; each rank needs a GPU of its own")]
    [InlineData("0,,2", "--gpus: item 2 of '0,,2' is empty; separate the values with single commas, e.g. 1,8,64")]
    [InlineData(",1", "--gpus: item 1 of ',1' is empty; separate the values with single commas, e.g. 1,8,64")]
    [InlineData("5,,", "--gpus: item 2 of '5,,' is empty; separate the values with single commas, e.g. 1,8,64")]
    public void Bad_lists_are_usage_errors(string text, string message) =>
        Assert.Equal(message, Assert.Throws<UsageException>(() => DevicePlacement.ParseGpus(text)).Message);

    [Theory]
    [InlineData("generate", "-p", "Hi", "-n", "1")]
    [InlineData("bench", "-p", "4", "-n", "1", "-r", "1")]
    [InlineData("serve", "--port", "0")]
    [InlineData("logits", "--tokens", "1,2", "-o", "never-written.safetensors")]
    public void Gpus_with_a_cpu_device_is_a_usage_error_before_anything_loads(params string[] verbAndArguments)
    {
        CliResult result = Cli.Run([.. verbAndArguments, "-m", Fixtures.TinyBf16, "--device", "cpu", "--gpus", "2"]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal(["usage error: --gpus splits the model over CUDA GPUs; it cannot be combined with --device cpu"], result.ErrorLines.Take(1));
        Assert.False(File.Exists("never-written.safetensors"));
    }

    /// <summary>Here (no GPU) CUDA is missing; on a one-GPU machine GPU 1 is; without NCCL, NCCL is: each in one line.</summary>
    [Fact]
    public void Gpus_that_this_machine_lacks_are_named_in_one_line()
    {
        CliResult result = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hi", "-n", "1", "--gpus", "2");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Single(result.ErrorLines);
        Assert.Matches(@"^error: (device cuda: no CUDA device on this machine|GPU 1: there is no CUDA device 1: this machine has 1 |NCCL \(libnccl\.so\.2\) was not found)", result.ErrorLines[0]);
    }
}
