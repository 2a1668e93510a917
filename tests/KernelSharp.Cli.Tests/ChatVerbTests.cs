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
    public void History_is_kept_so_the_second_prompt_is_longer_than_the_first_alone()
    {
        CliResult twoTurns = Cli.RunWithInput("Hello\nHello\n", "chat", "-m", Fixtures.TinyBf16, "-n", "3", "--temp", "0", "--ignore-eos");
        CliResult oneTurn = Cli.RunWithInput("Hello\n", "chat", "-m", Fixtures.TinyBf16, "-n", "3", "--temp", "0", "--ignore-eos");
        int PromptTokens(string line) => int.Parse(line.Split(' ')[1]);
        string[] twoStats = twoTurns.ErrorLines.Where(l => l.Contains("prompt: ")).Select(l => l[l.IndexOf("prompt: ", StringComparison.Ordinal)..]).ToArray();
        string[] oneStats = oneTurn.ErrorLines.Where(l => l.Contains("prompt: ")).Select(l => l[l.IndexOf("prompt: ", StringComparison.Ordinal)..]).ToArray();
        Assert.Equal(2, twoStats.Length);
        Assert.Equal(PromptTokens(oneStats[0]), PromptTokens(twoStats[0]));
        Assert.True(PromptTokens(twoStats[1]) > 2 * PromptTokens(oneStats[0]) - 2, twoTurns.Stderr);
    }
}
