using KernelSharp.Runtime.Generation;

namespace KernelSharp.Cli.Hosting;

/// <summary>How generation output reaches the user: text on stdout as it streams, then the stats line on stderr.</summary>
public static class GenerationOutput
{
    /// <summary>Where generated text goes: stdout, flushed per piece so it appears as it is produced.</summary>
    public static Action<string> StreamToStdout(CliContext context) => piece =>
    {
        context.Out.Write(piece);
        context.Out.Flush();
    };

    /// <summary>The stats line on stderr, with why generation ended when that was not the token limit or EOS.</summary>
    public static void WriteStatsLine(CliContext context, GenerationResult result)
    {
        context.Out.Flush();
        string note = result.FinishReason switch
        {
            FinishReason.Cancelled => " | interrupted",
            FinishReason.ContextFull => " | context full (raise -c for longer output)",
            _ => string.Empty,
        };
        context.Error.WriteLine($"{result.Stats.ToLine()} | seed {result.Seed}{note}");
        context.Error.Flush();
    }
}
