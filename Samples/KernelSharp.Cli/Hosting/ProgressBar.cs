namespace KernelSharp.Cli.Hosting;

/// <summary>
/// A one-line progress bar redrawn with '\r' on stderr. Drawn only on a terminal so logs and pipes stay clean;
/// elsewhere <see cref="For"/> returns null and the loader reports to nobody.
/// </summary>
public sealed class ProgressBar : IProgress<double>, IDisposable
{
    private const int Width = 30;
    private readonly TextWriter writer;
    private readonly string label;
    private readonly Lock gate = new();
    private int lastPercent = -1;
    private bool drawn;

    private ProgressBar(TextWriter writer, string label)
    {
        this.writer = writer;
        this.label = label;
    }

    public static ProgressBar? For(CliContext context, string label)
        => context.ErrorIsTerminal ? new ProgressBar(context.Error, label) : null;

    /// <param name="value">Fraction done, 0..1.</param>
    public void Report(double value)
    {
        int percent = (int)Math.Clamp(value * 100, 0, 100);
        lock (gate)
        {
            if (percent == lastPercent)
            {
                return;
            }
            lastPercent = percent;
            int filled = percent * Width / 100;
            writer.Write($"\r{label} [{new string('#', filled)}{new string(' ', Width - filled)}] {percent,3}%");
            writer.Flush();
            drawn = true;
        }
    }

    /// <summary>Erases the bar so the next line starts clean.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (drawn)
            {
                writer.Write("\r" + new string(' ', label.Length + Width + 8) + "\r");
                writer.Flush();
            }
        }
    }
}
