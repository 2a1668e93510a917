namespace KernelSharp.Cli.Hosting;

/// <summary>
/// Progress that doubles as the Ctrl-C check of a long writer that takes no CancellationToken: each report throws
/// once cancellation is requested, which unwinds the writer through its own clean-up (temporary files deleted).
/// </summary>
public sealed class CancellingProgress(IProgress<double>? inner, CancellationToken cancellation) : IProgress<double>
{
    public void Report(double value)
    {
        cancellation.ThrowIfCancellationRequested();
        inner?.Report(value);
    }
}
