namespace KernelSharp.Cli.Tests;

public sealed class ChatVerbTests
{
    [Fact]
    public void A_scripted_conversation_gets_a_reply_per_message_and_ends_on_exit()
    {
        CliResult result = Cli.RunWithInput("Hello\nHow are you?\n/exit\nnever read\n",
            "chat", "-m", Fixtures.TinyBf16, "-n", "5", "--temp", "0", "--ignore-eos");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, result.ErrorLines.Count(l => l.Contains("generated: 5 tokens")));
        Assert.Equal(2, result.Stdout.Count(c => c == '\n'));
    }

    [Fact]
    public void Turn_two_prefills_only_its_new_tokens_and_reports_the_cached_rest()
    {
        CliResult twoTurns = Cli.RunWithInput("Hello\nHello\n", "chat", "-m", Fixtures.TinyBf16, "-n", "3", "--temp", "0", "--ignore-eos");
        Assert.True(twoTurns.ExitCode == 0, twoTurns.ToString());
        string[] stats = twoTurns.ErrorLines.Where(l => l.Contains("prompt: ")).ToArray();
        Assert.Equal(2, stats.Length);
        Assert.DoesNotContain("cached", stats[0]);
        Assert.Matches(@"reused: \d+ cached tokens \| prompt: \d+ tokens", stats[1]);
        Assert.Single(twoTurns.ErrorLines, l => l.Contains("load: ", StringComparison.Ordinal));
    }
}
