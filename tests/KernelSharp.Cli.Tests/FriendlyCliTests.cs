using KernelSharp.Cli.Parsing;

namespace KernelSharp.Cli.Tests;

/// <summary>Help for people who come from llama.cpp: typo suggestions, -t, a tokenizer copied by default.</summary>
public sealed class FriendlyCliTests
{
    [Theory]
    [InlineData(new[] { "generat" }, "unknown verb 'generat'; did you mean 'generate'?")]
    [InlineData(new[] { "generate", "-m", "x", "--temperature", "0" }, "unknown option '--temperature' for generate")]
    [InlineData(new[] { "generate", "-m", "x", "--tmep", "0" }, "unknown option '--tmep' for generate; did you mean '--temp'?")]
    [InlineData(new[] { "chat", "-m", "x", "--repeat-penalti", "1.1" }, "did you mean '--repeat-penalty'?")]
    public void A_mistyped_verb_or_option_gets_one_line_with_the_closest_name(string[] args, string expected)
    {
        CliResult result = Cli.Run(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.ErrorLines.Single());
    }

    [Fact]
    public void A_name_far_from_every_candidate_gets_no_suggestion()
    {
        Assert.Null(Suggestions.Closest("bogus", ["generate", "chat", "logits"]));
        Assert.Equal("top-k", Suggestions.Closest("topk", ["top-k", "top-p", "temp"]));
        Assert.Equal(1, Suggestions.EditDistance("tmep", "temp"));
    }

    [Fact]
    public void Threads_change_nothing_but_the_speed_and_zero_is_a_usage_error()
    {
        CliResult one = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "5", "--temp", "0", "--ignore-eos", "-t", "1");
        CliResult all = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "5", "--temp", "0", "--ignore-eos");
        Assert.True(one.ExitCode == 0, one.ToString());
        Assert.Equal(all.Stdout, one.Stdout);

        CliResult zero = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "--threads", "0");
        Assert.Equal(2, zero.ExitCode);
        Assert.Contains("--threads", zero.ErrorLines.Single());
    }

    [Fact]
    public void Create_model_copies_the_tokenizer_beside_the_config_by_default()
    {
        using var temp = new TempDirectory();
        string model = temp.Combine("copy");
        CliResult created = Cli.Run("create-model", "--config", Path.Combine(Fixtures.TinyBf16, "config.json"), "-o", model);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.True(File.Exists(Path.Combine(model, "tokenizer.json")));
        Assert.Contains(created.ErrorLines, l => l.StartsWith("tokenizer: copied ", StringComparison.Ordinal));

        CliResult generated = Cli.Run("generate", "-m", model, "-p", "Hi", "-n", "2", "--temp", "0", "--ignore-eos");
        Assert.True(generated.ExitCode == 0, generated.ToString());
    }

    [Fact]
    public void Create_model_without_a_tokenizer_says_that_generate_cannot_run()
    {
        using var temp = new TempDirectory();
        string model = temp.Combine("bare");
        CliResult created = Cli.Run("create-model", "--preset", "tiny", "-o", model);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.False(File.Exists(Path.Combine(model, "tokenizer.json")));
        Assert.Contains(created.ErrorLines, l => l.Contains("no tokenizer.json copied, so generate and chat cannot run"));

        CliResult skipped = Cli.Run("create-model", "--config", Path.Combine(Fixtures.TinyBf16, "config.json"), "-o", temp.Combine("skipped"), "--no-tokenizer");
        Assert.True(skipped.ExitCode == 0, skipped.ToString());
        Assert.False(File.Exists(temp.Combine("skipped", "tokenizer.json")));
    }
}
