namespace KernelSharp.Cli.Tests;

/// <summary>
/// <c>--prefill exact|tensor-cores</c>, shared by generate, chat, bench and logits: a wrong value is a usage error, and
/// on the CPU backend (no tensor cores; this machine has no GPU) the option runs the exact prefill and says so.
/// </summary>
public sealed class PrefillOptionTests
{
    [Theory]
    [InlineData("generate", "-p", "hi")]
    [InlineData("chat")]
    [InlineData("bench", "-p", "8")]
    [InlineData("logits", "--tokens", "1,2", "-o", "x.safetensors")]
    public void An_unknown_value_is_a_usage_error_naming_the_choices(string verb, params string[] rest)
    {
        CliResult result = Cli.Run([verb, "-m", Fixtures.TinyBf16, .. rest, "--prefill", "fast"]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal("usage error: --prefill must be one of exact|tensor-cores, got 'fast'", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void Tensor_cores_on_the_cpu_prefill_exactly_and_say_so()
    {
        using var temp = new TempDirectory();
        string golden = Path.Combine(Fixtures.TinyBf16, "golden.safetensors");
        int[] tokens = Golden.Ints(golden, "prefill.input_ids")[..12];
        float[] reference = Golden.Floats(golden, "prefill.logits", out long[] referenceShape).AsSpan(0, 12 * (int)referenceShape[1]).ToArray();
        string output = temp.Combine("logits.safetensors");

        CliResult result = Cli.Run("logits", "-m", Fixtures.TinyBf16, "--tokens", string.Join(',', tokens), "-o", output, "--device", "cpu", "--prefill", "tensor-cores");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("no tensor-core prefill on this backend, prefill stays fp32", result.Stdout);
        double[] errors = Golden.RowRelativeErrors(Golden.Floats(output, "logits", out _), reference, (int)referenceShape[1]);
        Assert.True(errors.Max() <= 1e-4, $"row errors up to {errors.Max():E2}: the CPU's prefill is the exact one");
    }
}
