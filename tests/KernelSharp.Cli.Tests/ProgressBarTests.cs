using KernelSharp.Cli.Hosting;

namespace KernelSharp.Cli.Tests;

public sealed class ProgressBarTests
{
    [Fact]
    public void No_bar_is_drawn_when_stderr_is_not_a_terminal()
    {
        var context = new CliContext(TextWriter.Null, new StringWriter(), TextReader.Null, CancellationToken.None, ErrorIsTerminal: false);
        Assert.Null(ProgressBar.For(context, "loading"));
    }

    [Fact]
    public void On_a_terminal_the_bar_redraws_in_place_and_is_erased_at_the_end()
    {
        var stderr = new StringWriter();
        var context = new CliContext(TextWriter.Null, stderr, TextReader.Null, CancellationToken.None, ErrorIsTerminal: true);
        using (ProgressBar bar = ProgressBar.For(context, "loading")!)
        {
            bar.Report(0.5);
            bar.Report(0.5);
            bar.Report(1.0);
        }
        string[] frames = stderr.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("loading [###############               ]  50%", frames[0]);
        Assert.Equal("loading [##############################] 100%", frames[1]);
        Assert.Equal(string.Empty, frames[2].Trim());
        Assert.Equal(3, frames.Length);
    }
}
