namespace KernelSharp.Cli.Tests;

/// <summary><c>logits</c> against the Hugging Face transformers outputs stored in each fixture's golden.safetensors.</summary>
public sealed class LogitsTests
{
    public static TheoryData<string> Models => new() { Fixtures.TinyBf16, Fixtures.TinyFp8Yarn };

    [Theory]
    [MemberData(nameof(Models))]
    public void Prefill_logits_match_the_golden_prefill(string model)
    {
        using var temp = new TempDirectory();
        string golden = Path.Combine(model, "golden.safetensors");
        int[] tokens = Golden.Ints(golden, "prefill.input_ids");
        float[] reference = Golden.Floats(golden, "prefill.logits", out long[] referenceShape);
        string output = temp.Combine("logits.safetensors");

        CliResult result = Cli.Run("logits", "-m", model, "--tokens", string.Join(',', tokens), "-o", output, "--device", "cpu");

        Assert.True(result.ExitCode == 0, result.ToString());
        float[] ours = Golden.Floats(output, "logits", out long[] shape);
        Assert.Equal(referenceShape, shape);
        AssertClose(ours, reference, (int)shape[1]);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Decode_from_feeds_the_rest_through_the_cache_and_matches_the_golden_steps(string model)
    {
        using var temp = new TempDirectory();
        string golden = Path.Combine(model, "golden.safetensors");
        int[] prompt = Golden.Ints(golden, "decode.prompt_ids");
        int[] generated = Golden.Ints(golden, "decode.generated_ids");
        float[] steps = Golden.Floats(golden, "decode.step_logits", out long[] stepShape);
        // Row k of step_logits follows prompt + generated[0..k): feed all but the last generated token.
        int[] tokens = [.. prompt, .. generated[..^1]];
        string output = temp.Combine("decode.safetensors");

        CliResult result = Cli.Run("logits", "-m", model, "--tokens", string.Join(',', tokens), "--decode-from", prompt.Length.ToString(), "-o", output);

        Assert.True(result.ExitCode == 0, result.ToString());
        float[] ours = Golden.Floats(output, "logits", out long[] shape);
        Assert.Equal(stepShape, shape);
        AssertClose(ours, steps, (int)shape[1]);
        Assert.Contains($"wrote logits [{stepShape[0]}, {stepShape[1]}]", result.Stdout);
    }

    private static void AssertClose(float[] ours, float[] reference, int vocab)
    {
        double[] errors = Golden.RowRelativeErrors(ours, reference, vocab);
        double worst = errors.Max();
        Assert.True(worst < 1e-4, $"worst per-row relative error {worst:E2} (median {errors.Order().ElementAt(errors.Length / 2):E2})");
    }
}
