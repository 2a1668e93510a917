namespace KernelSharp.Cli.Tests;

/// <summary>Every wrong command line: exit code 2 and ONE stderr line that says what is valid.</summary>
public sealed class UsageErrorTests
{
    public static TheoryData<string[], string> Cases()
    {
        string m = Fixtures.TinyBf16;
        return new TheoryData<string[], string>
        {
            { ["frobnicate"], "unknown verb 'frobnicate'; valid verbs: generate, chat" },
            { ["generate", "-m", m, "-p", "hi", "--bogus"], "unknown option '--bogus'" },
            { ["generate", "-m", m, "-p", "hi", "-n", "-5"], "-n/--n-predict must be an integer between -1 and 1048576, got '-5'" },
            { ["generate", "-m", m, "-p", "hi", "-n", "99999999999"], "-n/--n-predict must be an integer between -1 and 1048576" },
            { ["generate", "-m", m, "-p", "hi", "-n", "lots"], "-n/--n-predict must be an integer between -1 and 1048576, got 'lots'" },
            { ["generate", "-m", m, "-p", "hi", "--temp", "-0.5"], "--temp must be >= 0 (0 = greedy), got '-0.5'" },
            { ["generate", "-m", m, "-p", "hi", "--temp", "NaN"], "--temp must be >= 0" },
            { ["generate", "-m", m, "-p", "hi", "--top-p", "0"], "--top-p must be in (0, 1], got '0'" },
            { ["generate", "-m", m, "-p", "hi", "--top-p", "1.01"], "--top-p must be in (0, 1], got '1.01'" },
            { ["generate", "-m", m, "-p", "hi", "--top-k", "-1"], "--top-k must be an integer between 0 and 2147483647, got '-1'" },
            { ["generate", "-m", m, "-p", "hi", "--device", "tpu"], "--device must be one of auto|cuda|opencl|cpu|ilgpu-cpu, got 'tpu'" },
            { ["generate", "-m", m, "-p", "hi", "-c", "0"], "-c/--ctx-size must be an integer between 1 and 4096, got '0'" },
            { ["generate", "-m", m, "-p", "hi", "-c", "5000"], "-c/--ctx-size must be an integer between 1 and 4096, got '5000'" },
            { ["generate", "-m", m, "-p", string.Concat(Enumerable.Repeat("word ", 40)), "-c", "8"], "the prompt is" },
            { ["generate", "-m", m, "-p", "hi", "-f", "x.txt"], "give only one of -p/--prompt, -f/--file" },
            { ["generate", "-m", m, "-p", "hi", "--think"], "--think and --system need --chat" },
            { ["generate", "-p", "hi"], "-m/--model DIR is required" },
            { ["generate", "-m", m, "-p"], "option -p/--prompt needs a value (TEXT)" },
            { ["generate", "-m", m, "-p", "a", "-p", "b"], "option -p/--prompt is given twice" },
            { ["generate", "-m", m, "stray"], "unexpected argument 'stray'" },
            { ["generate", "-m", m, "-p", "hi", "--", "-hi"], "give only one of -p/--prompt, -- TEXT" },
            { ["generate", "-m", m, "--", "-5", "degrees"], "'--' is followed by 2 arguments; generate reads one TEXT there: quote it (\"-5 degrees\")" },
            { ["inspect", "-m", m, "--", "--tensors"], "unexpected argument '--tensors' after '--': inspect reads nothing there" },
            { ["tokenize", "-m", m, "--ids", "1", "--", "-hi"], "give only one of --ids, -- TEXT" },
            { ["chat", "-m", m, "--top-p", "2"], "--top-p must be in (0, 1], got '2'" },
            { ["logits", "-m", m, "--tokens", "1,2,512", "-o", "x.safetensors"], "--tokens: '512' is not an integer between 0 and 511" },
            { ["logits", "-m", m, "--tokens", "1,-2", "-o", "x.safetensors"], "--tokens: '-2' is not an integer between 0 and 511" },
            { ["logits", "-m", m, "--tokens", "1,2,3", "--decode-from", "4", "-o", "x.safetensors"], "--decode-from must be an integer between 1 and 3, got '4'" },
            { ["logits", "-m", m, "--tokens", "1,2,3", "--decode-from", "0", "-o", "x.safetensors"], "--decode-from must be an integer between 1 and 3, got '0'" },
            { ["logits", "-m", m, "--tokens", "1,2", "-o", "x.safetensors", "--device", "gpu"], "--device must be one of auto|cuda|opencl|cpu|ilgpu-cpu" },
            { ["logits", "-m", m, "--tokens", "1,2", "-o", Path.Combine(m, "logits.safetensors")], "is inside the model folder; write the logits somewhere else" },
            { ["tokenize", "-m", m], "give --text TEXT, --jsonl FILE, --ids 1,2,3 or -- TEXT" },
            { ["tokenize", "--text", "hi"], "give -m DIR or --tokenizer FILE" },
            { ["tokenize", "-m", m, "--ids", "7,600"], "--ids: '600' is not an integer between 0 and 511" },
            { ["bench", "-m", m, "-b", "1,,64"], "-b/--batch: item 2 of '1,,64' is empty" },
            { ["bench", "-m", m, "-d", "0,,8"], "-d/--n-depth: item 2 of '0,,8' is empty" },
            { ["logits", "-m", m, "--tokens", "1,2,,3", "-o", "x.safetensors"], "--tokens: item 3 of '1,2,,3' is empty" },
            { ["tokenize", "-m", m, "--ids", "1,"], "--ids: item 2 of '1,' is empty" },
            { ["generate", "-m", m, "-p", "hi", "--stop", "a", "--stop", ""], "--stop needs a non-empty TEXT" },
            { ["chat", "-m", m, "--stop="], "--stop needs a non-empty TEXT" },
            { ["bench", "-m", m, "-r", "0"], "-r/--repetitions must be an integer between 1 and 100, got '0'" },
            { ["bench", "-m", m, "-p", "0", "-n", "0"], "-p and -n are both 0: nothing to measure" },
            { ["bench", "-m", m, "-p", "8", "-n", "8", "-c", "4"], "-c/--ctx-size must be an integer between 8 and 4096, got '4'" },
            { ["create-model", "-o", "x"], "give --config FILE or --preset NAME" },
            { ["create-model", "--preset", "huge", "-o", "x"], "--preset must be one of tiny|mid-5b|deepseek-v3.2, got 'huge'" },
            { ["create-model", "--preset", "tiny", "-o", "x", "--dtype", "int4"], "--dtype must be one of bf16|fp8, got 'int4'" },
            { ["create-model", "--preset", "tiny", "-o", "x", "--shards", "0"], "--shards must be an integer between 1 and 1024, got '0'" },
            { ["inspect", "-m", m, "--tensors=yes"], "option --tensors takes no value" },
            { ["devices", "--all"], "unknown option '--all' for devices" },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Wrong_command_lines_exit_2_with_one_line(string[] args, string expected)
    {
        CliResult result = Cli.Run(args);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Single(result.ErrorLines);
        Assert.StartsWith("usage error: ", result.ErrorLines[0]);
        Assert.Contains(expected, result.ErrorLines[0]);
        Assert.Equal(string.Empty, result.Stdout);
    }
}
