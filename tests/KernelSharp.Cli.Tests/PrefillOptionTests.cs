namespace KernelSharp.Cli.Tests;

/// <summary>
/// <c>--prefill auto|exact|tensor-cores</c>, shared by generate, chat, bench and logits: a wrong value is a usage error;
/// on the CPU backend (no tensor cores; this machine has no GPU) tensor cores asked for run the exact prefill and say so,
/// and the default (auto) runs it without a word.
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
        Assert.Equal("usage error: --prefill must be one of auto|exact|tensor-cores, got 'fast'", Assert.Single(result.ErrorLines));
    }

    [Theory]
    [InlineData("tensor-cores", true)]
    [InlineData("auto", false)]
    [InlineData(null, false)]
    public void The_cpu_prefills_exactly_and_says_so_only_when_tensor_cores_were_asked_for(string? prefill, bool noted)
    {
        using var temp = new TempDirectory();
        string golden = Path.Combine(Fixtures.TinyBf16, "golden.safetensors");
        int[] tokens = Golden.Ints(golden, "prefill.input_ids")[..12];
        float[] reference = Golden.Floats(golden, "prefill.logits", out long[] referenceShape).AsSpan(0, 12 * (int)referenceShape[1]).ToArray();
        string output = temp.Combine("logits.safetensors");

        string[] prefillOption = prefill is null ? [] : ["--prefill", prefill];
        CliResult result = Cli.Run(["logits", "-m", Fixtures.TinyBf16, "--tokens", string.Join(',', tokens), "-o", output, "--device", "cpu", .. prefillOption]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(noted, result.Stdout.Contains("no tensor-core prefill on this backend, prefill stays fp32"));
        Assert.DoesNotContain("prefill matmuls on bf16 tensor cores", result.Stdout);
        double[] errors = Golden.RowRelativeErrors(Golden.Floats(output, "logits", out _), reference, (int)referenceShape[1]);
        Assert.True(errors.Max() <= 1e-4, $"row errors up to {errors.Max():E2}: the CPU's prefill is the exact one");
    }
}
