using System.Text.RegularExpressions;
using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Cli.Verbs;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;

namespace KernelSharp.Cli.Tests.Serve;

/// <summary>serve's --kv-memory below one full context is a usage error before the server listens, naming the least budget; above --max-batch full contexts it is capped.</summary>
public sealed partial class ServeOptionTests
{
    [GeneratedRegex(@"^usage error: --kv-memory must hold at least one sequence of 64 tokens \(-c\): (\S+) or more, got '(.*)'$")]
    private static partial Regex KvMemoryRange();

    [Theory]
    [InlineData("1K")]
    [InlineData("1")]
    public void A_kv_memory_below_one_full_context_is_a_usage_error_before_listening(string kvMemory)
    {
        // Should the check ever let the value through, the server would listen until stopped: the token stops it, and the
        // exit code below fails the test instead of hanging the run.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        CliResult result = Cli.Run(new StringWriter(), stop.Token,
            "serve", "-m", Fixtures.TinyBf16, "-c", "64", "--max-batch", "4", "--kv-memory", kvMemory, "--port", "0", "--device", "cpu");
        Assert.True(result.ExitCode == 2, result.ToString());
        Match range = KvMemoryRange().Match(Assert.Single(result.ErrorLines)); // no "listening on" line before it
        Assert.True(range.Success, result.Stderr);
        Assert.Equal(kvMemory, range.Groups[2].Value);
    }

    [Fact]
    public void The_least_budget_as_the_message_shows_it_is_accepted_when_typed_back_and_a_larger_one_is_capped()
    {
        ModelConfig config = ModelConfig.Load(Path.Combine(Fixtures.TinyBf16, "config.json"));
        var error = Assert.Throws<UsageException>(() => Budget(config, "1"));
        Match range = KvMemoryRange().Match("usage error: " + error.Message);
        Assert.True(range.Success, error.Message);

        Assert.Equal(64, Budget(config, range.Groups[1].Value));
        Assert.Equal(4 * 64, Budget(config, "2G"));       // more than --max-batch full contexts: never allocated
        Assert.Equal(4 * 64, Budget(config, "8000000T")); // even a slip of T for G costs nothing
        Assert.Equal(4 * 64, Budget(config, null)); // absent: --max-batch full contexts
    }

    private static long Budget(ModelConfig config, string? kvMemory)
    {
        ParsedArguments args = ArgumentParser.Parse(new ServeVerb().Spec, kvMemory is null ? [] : ["--kv-memory", kvMemory]);
        return KvMemoryBudget.Positions(args, config, KvCacheFormat.Fp32, maxBatch: 4, contextSize: 64);
    }
}
