namespace KernelSharp.Cli.Tests;

/// <summary>Input files named on the command line that do not exist: exit 1, one line naming the file.</summary>
public sealed class MissingInputFileTests
{
    public static TheoryData<string[], string> Cases()
    {
        string missing = Path.Combine(Path.GetTempPath(), "ks-cli-no-such-file-" + Guid.NewGuid().ToString("N"));
        return new TheoryData<string[], string>
        {
            { ["generate", "-m", Fixtures.TinyBf16, "-f", missing], $"error: {missing}: prompt file not found" },
            { ["tokenize", "-m", Fixtures.TinyBf16, "--jsonl", missing], $"error: {missing}: JSONL file not found" },
            { ["tokenize", "--tokenizer", missing, "--text", "hi"], $"error: {missing}: tokenizer file not found" },
            { ["create-model", "--config", missing, "-o", missing + "-out"], $"error: {missing}: config file not found" },
            { ["inspect", "-m", missing], $"error: {missing}: model folder not found" },
            { ["logits", "-m", Fixtures.TinyBf16, "--tokens", "1", "-o", Path.Combine(missing, "x.safetensors")], $"error: {Path.Combine(missing, "x.safetensors")}: the folder {missing} does not exist" },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_missing_input_file_is_named_in_one_line(string[] args, string expected)
    {
        CliResult result = Cli.Run(args);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal(expected, Assert.Single(result.ErrorLines));
    }
}
