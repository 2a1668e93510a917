using System.Text.RegularExpressions;
using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Cli.Verbs;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;

namespace KernelSharp.Cli.Tests.Serve;

/// <summary>serve's options that config.json bounds (--kv-memory) are usage errors before the server listens, with the range.</summary>
public sealed partial class ServeOptionTests
{
    [GeneratedRegex(@"^usage error: --kv-memory must be between (\S+) \(one sequence of 64 tokens, -c\) and (\S+) \(--max-batch 4 such sequences; more is never used\), got '(.*)'$")]
    private static partial Regex KvMemoryRange();

    [Theory]
    [InlineData("1K")]
    [InlineData("8000000T")]
    public void A_kv_memory_outside_its_range_is_a_usage_error_before_listening(string kvMemory)
    {
        CliResult result = Cli.Run("serve", "-m", Fixtures.TinyBf16, "-c", "64", "--max-batch", "4", "--kv-memory", kvMemory, "--port", "0", "--device", "cpu");
        Assert.True(result.ExitCode == 2, result.ToString());
        Match range = KvMemoryRange().Match(Assert.Single(result.ErrorLines)); // no "listening on" line before it
        Assert.True(range.Success, result.Stderr);
        Assert.Equal(kvMemory, range.Groups[3].Value);
    }

    [Fact]
    public void Both_bounds_as_the_message_shows_them_are_accepted_when_typed_back()
    {
        ModelConfig config = ModelConfig.Load(Path.Combine(Fixtures.TinyBf16, "config.json"));
        var error = Assert.Throws<UsageException>(() => Budget(config, "1"));
        Match range = KvMemoryRange().Match("usage error: " + error.Message);
        Assert.True(range.Success, error.Message);

        Assert.Equal(64, Budget(config, range.Groups[1].Value));
        Assert.Equal(4 * 64, Budget(config, range.Groups[2].Value));
        Assert.Equal(4 * 64, Budget(config, null)); // absent: --max-batch full contexts
    }

    private static long Budget(ModelConfig config, string? kvMemory)
    {
        ParsedArguments args = ArgumentParser.Parse(new ServeVerb().Spec, kvMemory is null ? [] : ["--kv-memory", kvMemory]);
        return KvMemoryBudget.Positions(args, config, KvCacheFormat.Fp32, maxBatch: 4, contextSize: 64);
    }
}
