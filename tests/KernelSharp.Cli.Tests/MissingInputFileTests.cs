using System.Diagnostics;

namespace KernelSharp.Cli.Tests;

/// <summary>
/// Input files named on the command line that do not exist, or are not what was asked for (a link to nothing, a named
/// pipe, a file where a folder belongs): exit 1, one line naming the path and what is there.
/// </summary>
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

    [SkippableFact]
    public void A_dangling_link_a_named_pipe_or_a_file_in_place_of_an_input_is_called_what_it_is()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "needs symbolic links and mkfifo");
        using var temp = new TempDirectory();
        string nowhere = temp.Combine("nowhere");
        string dangling = temp.Combine("dangling");
        File.CreateSymbolicLink(dangling, nowhere);
        string fifo = temp.Combine("fifo");
        Process.Start("mkfifo", [fifo]).WaitForExit();
        string file = temp.Combine("notes.txt");
        File.WriteAllText(file, "notes");
        string model = temp.CopyOf(Fixtures.TinyBf16, "model");
        string config = Path.Combine(model, "config.json");
        File.Delete(config);
        File.CreateSymbolicLink(config, nowhere);
        string link = $"is a dangling link to {nowhere}, which does not exist";

        (string[] Args, string Line)[] cases =
        [
            (["generate", "-m", dangling, "-p", "hi"], $"error: {dangling}: {link}; expected the model folder"),
            (["generate", "-m", fifo, "-p", "hi"], $"error: {fifo}: is a named pipe; --model expects the model folder that holds config.json"),
            (["generate", "-m", file, "-p", "hi"], $"error: {file}: is a regular file; --model expects the model folder that holds config.json"),
            (["tokenize", "-m", fifo, "--text", "hi"], $"error: {fifo}: is a named pipe; -m expects a folder that holds tokenizer.json (or give the file with --tokenizer)"),
            (["inspect", "-m", model], $"error: {config}: {link}; a model folder needs config.json, model.safetensors (or shards) and tokenizer.json"),
            (["generate", "-m", Fixtures.TinyBf16, "-f", dangling], $"error: {dangling}: {link}; expected the prompt file"),
            (["tokenize", "-m", Fixtures.TinyBf16, "--jsonl", dangling], $"error: {dangling}: {link}; expected the JSONL file"),
            (["tokenize", "--tokenizer", dangling, "--text", "hi"], $"error: {dangling}: {link}; expected the tokenizer file"),
            (["create-model", "--config", dangling, "-o", temp.Combine("out")], $"error: {dangling}: {link}; expected the config file"),
            (["bench", "--synthetic", dangling], $"error: {dangling}: {link}; a synthetic model needs the model's config.json (no weights or tokenizer)"),
        ];
        foreach ((string[] args, string line) in cases)
        {
            CliResult result = Cli.Run(args);
            Assert.True(result.ExitCode == 1, result.ToString());
            Assert.Equal(line, Assert.Single(result.ErrorLines));
        }
    }
}
