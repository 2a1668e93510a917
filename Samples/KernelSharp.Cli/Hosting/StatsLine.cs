using KernelSharp.Runtime.Generation;

namespace KernelSharp.Cli.Hosting;

/// <summary>Writes the stats line on stderr after generation (on its own line even if the text did not end with one).</summary>
public static class StatsLine
{
    public static void Write(CliContext context, GenerationResult result)
    {
        context.Out.Flush();
        string note = result.FinishReason == FinishReason.Cancelled ? " | interrupted" : string.Empty;
        context.Error.WriteLine($"\n{result.Stats.ToLine()} | seed {result.Seed}{note}".TrimStart('\n'));
        context.Error.Flush();
    }
}
