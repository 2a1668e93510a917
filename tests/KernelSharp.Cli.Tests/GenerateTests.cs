using System.Text.RegularExpressions;
using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Cli.Tests;

public sealed partial class GenerateTests
{
    [GeneratedRegex(@"^load: [\d.]+ s \(warm-up [\d.]+ s\) \| ttft: \d+ ms \| prompt: (\d+) tokens, [\d.]+ t/s \| generated: (\d+) tokens, [\d.]+ t/s \| seed -?\d+")]
    private static partial Regex StatsLine();

    [Fact]
    public void The_cpu_writes_the_same_greedy_text_as_the_gpu_kernel_bodies_on_ilgpus_cpu_accelerator()
    {
        // --device cpu runs the kernels' host forms; ilgpu-cpu runs the bodies the GPUs compile.
        CliResult cpu = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "12", "--temp", "0", "--ignore-eos", "--device", "cpu");
        CliResult kernels = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "12", "--temp", "0", "--ignore-eos", "--device", "ilgpu-cpu");

        Assert.True(kernels.ExitCode == 0, kernels.ToString());
        Assert.Equal(cpu.Stdout, kernels.Stdout);
    }

    [Fact]
    public void Greedy_generation_equals_an_independent_argmax_loop_over_the_model()
    {
        CliResult result = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "12", "--temp", "0", "--ignore-eos", "--device", "cpu");
        Assert.True(result.ExitCode == 0, result.ToString());

        // The same thing written out with the runtime API: BOS + prompt, prefill, then argmax / decode.
        var tokenizer = BpeTokenizer.Load(Path.Combine(Fixtures.TinyBf16, "tokenizer.json"), Path.Combine(Fixtures.TinyBf16, "tokenizer_config.json"));
        using var model = DeepSeekModel.Load(Fixtures.TinyBf16, new ModelLoadOptions { Device = "cpu" });
        using InferenceSession session = model.CreateSession(64);
        float[] logits = session.PrefillLast(tokenizer.Encode("Hello", addSpecialTokens: true));
        var ids = new List<int>();
        for (int i = 0; i < 12; i++)
        {
            ids.Add(TokenSampler.ArgMax(logits));
            if (i < 11)
            {
                logits = session.Decode(ids[^1]);
            }
        }

        Assert.Equal(tokenizer.Decode(ids.ToArray()) + "\n", result.Stdout);
        Match stats = StatsLine().Match(result.ErrorLines[^1]);
        Assert.True(stats.Success, result.Stderr);
        Assert.Equal(tokenizer.Encode("Hello", addSpecialTokens: true).Length.ToString(), stats.Groups[1].Value);
        Assert.Equal("12", stats.Groups[2].Value);
    }

    [Fact]
    public void A_prompt_after_double_dash_may_start_with_a_dash_and_equals_the_same_prompt_given_with_p()
    {
        CliResult operand = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-n", "6", "--temp", "0", "--ignore-eos", "--device", "cpu", "--", "-v --help");
        CliResult option = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-n", "6", "--temp", "0", "--ignore-eos", "--device", "cpu", "-p", "-v --help");
        Assert.True(operand.ExitCode == 0, operand.ToString());
        Assert.Equal(option.Stdout, operand.Stdout);
        Assert.NotEqual(string.Empty, operand.Stdout.Trim());
    }

    [Fact]
    public void Seeded_sampling_repeats_and_the_seed_changes_the_text()
    {
        string[] Args(string seed) => ["generate", "-m", Fixtures.TinyBf16, "-p", "Once upon", "-n", "24", "--temp", "1.5", "--top-k", "0", "--top-p", "1", "-s", seed, "--ignore-eos"];
        CliResult first = Cli.Run(Args("11"));
        CliResult again = Cli.Run(Args("11"));
        CliResult other = Cli.Run(Args("12"));
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(first.Stdout, again.Stdout);
        Assert.NotEqual(first.Stdout, other.Stdout);
        Assert.Contains("| seed 11", first.ErrorLines[^1]);
    }

    [Fact]
    public void The_prompt_can_come_from_a_file_or_stdin()
    {
        using var temp = new TempDirectory();
        string promptFile = temp.Combine("prompt.txt");
        File.WriteAllText(promptFile, "Hello");
        string[] common = ["-m", Fixtures.TinyFp8Yarn, "-n", "6", "--temp", "0", "--ignore-eos"];
        CliResult fromArgument = Cli.Run(["generate", "-p", "Hello", .. common]);
        CliResult fromFile = Cli.Run(["generate", "-f", promptFile, .. common]);
        CliResult fromStdin = Cli.RunWithInput("Hello", ["generate", .. common]);
        Assert.True(fromArgument.ExitCode == 0, fromArgument.ToString());
        Assert.Equal(fromArgument.Stdout, fromFile.Stdout);
        Assert.Equal(fromArgument.Stdout, fromStdin.Stdout);
    }

    [Fact]
    public void Chat_mode_applies_the_template_and_stops_at_stop_sequences()
    {
        CliResult chat = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hi", "--chat", "--system", "Be brief.", "-n", "16", "--temp", "0", "--ignore-eos");
        Assert.True(chat.ExitCode == 0, chat.ToString());
        Match stats = StatsLine().Match(chat.ErrorLines[^1]);
        // BOS + system + <｜User｜> + "Hi" + <｜Assistant｜> + </think> is longer than the bare prompt.
        Assert.True(int.Parse(stats.Groups[1].Value) > 4, chat.Stderr);

        string text = chat.Stdout.TrimEnd('\n');
        if (text.Length >= 4)
        {
            string stop = text.Substring(2, 2);
            CliResult stopped = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hi", "--chat", "--system", "Be brief.", "-n", "16", "--temp", "0", "--ignore-eos", "--stop", stop);
            Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)] + "\n", stopped.Stdout);
        }
    }

    [Fact]
    public void Generation_stops_when_the_context_is_full_and_says_so()
    {
        CliResult result = Cli.Run("generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-c", "8", "-n", "100", "--temp", "0", "--ignore-eos");
        Assert.True(result.ExitCode == 0, result.ToString());
        Match stats = StatsLine().Match(result.ErrorLines[^1]);
        int prompt = int.Parse(stats.Groups[1].Value);
        // The last sampled token needs no cache slot: context − prompt + 1 tokens fit.
        Assert.Equal(8 - prompt + 1, int.Parse(stats.Groups[2].Value));
        Assert.EndsWith("context full (raise -c for longer output)", result.ErrorLines[^1]);
    }

    [Fact]
    public void Ctrl_c_stops_generation_prints_the_stats_line_and_exits_130()
    {
        using var interrupt = new CancellationTokenSource();
        var stdout = new CancellingWriter(interrupt, afterWrites: 3);
        CliResult result = Cli.Run(stdout, interrupt.Token, "generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "200", "--temp", "0", "--ignore-eos");
        Assert.True(result.ExitCode == 130, result.ToString());
        Match stats = StatsLine().Match(result.ErrorLines[^1]);
        Assert.True(stats.Success, result.Stderr);
        // Pieces are whole UTF-8 text, so a token may add no piece: at least 3 tokens, far fewer than asked.
        int generated = int.Parse(stats.Groups[2].Value);
        Assert.InRange(generated, 3, 20);
        Assert.EndsWith("interrupted", result.ErrorLines[^1]);
    }

    /// <summary>Stands in for Ctrl-C: cancels after the tool has streamed a few pieces of text.</summary>
    private sealed class CancellingWriter(CancellationTokenSource interrupt, int afterWrites) : StringWriter
    {
        private int writes;

        public override void Write(string? value)
        {
            base.Write(value);
            if (!string.IsNullOrEmpty(value) && ++writes == afterWrites)
            {
                interrupt.Cancel();
            }
        }
    }
}
