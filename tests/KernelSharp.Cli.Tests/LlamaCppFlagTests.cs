using System.Text.Json;

namespace KernelSharp.Cli.Tests;

/// <summary>The flags and outputs people coming from llama.cpp expect: --json, -n -1, --show-prompt.</summary>
public sealed class LlamaCppFlagTests
{
    [Fact]
    public void Generate_json_prints_one_object_with_the_text_and_every_timing()
    {
        CliResult result = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "4", "--temp", "0", "--ignore-eos", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        CliResult plain = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "4", "--temp", "0", "--ignore-eos");

        using JsonDocument json = JsonDocument.Parse(result.Stdout);
        JsonElement root = json.RootElement;
        Assert.Equal(plain.Stdout.TrimEnd('\n'), root.GetProperty("text").GetString());
        Assert.Equal("length", root.GetProperty("finish_reason").GetString());
        Assert.Equal(4, root.GetProperty("generated_tokens").GetInt32());
        Assert.True(root.GetProperty("prompt_tokens").GetInt32() > 0);
        foreach (string seconds in new[] { "load_seconds", "warmup_seconds", "time_to_first_token_seconds", "prompt_seconds", "generation_seconds" })
        {
            Assert.True(root.GetProperty(seconds).GetDouble() >= 0, seconds);
        }
        Assert.True(root.GetProperty("time_to_first_token_seconds").GetDouble() >= root.GetProperty("prompt_seconds").GetDouble());
        Assert.DoesNotContain(result.ErrorLines, l => l.Contains("t/s"));
    }

    [Fact]
    public void N_minus_one_generates_until_the_context_is_full()
    {
        CliResult result = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "-1", "-c", "16", "--temp", "0", "--ignore-eos", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using JsonDocument json = JsonDocument.Parse(result.Stdout);
        Assert.Equal("context_full", json.RootElement.GetProperty("finish_reason").GetString());
        Assert.Equal(16, json.RootElement.GetProperty("prompt_tokens").GetInt32() + json.RootElement.GetProperty("generated_tokens").GetInt32() - 1);
    }

    [Fact]
    public void N_below_minus_one_is_a_usage_error_naming_the_range()
    {
        CliResult result = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "-2");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("-1", result.ErrorLines.Single());
    }

    [Fact]
    public void Show_prompt_prints_the_rendered_chat_template_to_stderr()
    {
        CliResult result = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hi", "--chat", "--system", "Be brief.", "-n", "1", "--temp", "0", "--show-prompt");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(result.ErrorLines, l => l.Contains("Be brief.<｜User｜>Hi<｜Assistant｜></think>"));
        Assert.DoesNotContain("<｜User｜>", result.Stdout);
    }

    [Fact]
    public void Generate_without_a_prompt_on_a_terminal_says_it_reads_stdin_and_piped_input_stays_silent()
    {
        string[] args = ["generate", "-m", Fixtures.TinyBf16, "-n", "1", "--temp", "0"];
        var stderr = new StringWriter();
        int exit = Program.Run(args, new StringWriter(), stderr, new StringReader("Hello"), CancellationToken.None, inputIsTerminal: true);
        Assert.Equal(0, exit);
        Assert.StartsWith("reading the prompt from stdin (end it with Ctrl-D", stderr.ToString());

        CliResult piped = Cli.RunWithInput("Hello", args);
        Assert.True(piped.ExitCode == 0, piped.ToString());
        Assert.DoesNotContain(piped.ErrorLines, l => l.Contains("reading the prompt from stdin"));
    }
}
