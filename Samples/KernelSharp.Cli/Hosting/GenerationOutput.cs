using System.Globalization;
using System.Text.Json;
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

    /// <summary>
    /// The stats line on stderr: load time (when this run loaded the model), time to first token, the speeds, and why
    /// generation ended when that was not the token limit or EOS. <paramref name="reusedTokens"/> is the chat's cached
    /// prefix, shown so a short prompt count on turn 2 reads as reuse, not as a lost history.
    /// </summary>
    public static void WriteStatsLine(CliContext context, GenerationResult result, ModelLoadTimes? load, int reusedTokens = 0)
    {
        context.Out.Flush();
        string note = result.FinishReason switch
        {
            FinishReason.Cancelled => " | interrupted",
            FinishReason.ContextFull => " | context full (raise -c for longer output)",
            _ => string.Empty,
        };
        string loadPart = load is null ? string.Empty : load.ToLine() + " | ";
        string reusedPart = reusedTokens > 0 ? $"reused: {reusedTokens} cached tokens | " : string.Empty;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"{loadPart}ttft: {result.Stats.TimeToFirstToken.TotalMilliseconds:F0} ms | {reusedPart}{result.Stats.ToLine()} | seed {result.Seed}{note}");
        context.Error.WriteLine(line);
        context.Error.Flush();
    }

    /// <summary>
    /// <c>generate --json</c>: one JSON object on stdout with the text and every number of the stats line
    /// (seconds as numbers, names in snake_case as llama.cpp's server reports them).
    /// </summary>
    public static void WriteJson(CliContext context, GenerationResult result, ModelLoadTimes load)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            GenerationStats stats = result.Stats;
            json.WriteStartObject();
            json.WriteString("text", result.Text);
            json.WriteString("finish_reason", FinishReasonName(result.FinishReason));
            json.WriteNumber("seed", result.Seed);
            json.WriteNumber("load_seconds", load.Load.TotalSeconds);
            json.WriteNumber("warmup_seconds", load.WarmUp.TotalSeconds);
            json.WriteNumber("time_to_first_token_seconds", stats.TimeToFirstToken.TotalSeconds);
            json.WriteNumber("prompt_tokens", stats.PromptTokens);
            json.WriteNumber("prompt_seconds", stats.PromptTime.TotalSeconds);
            json.WriteNumber("prompt_tokens_per_second", stats.PromptTokensPerSecond);
            json.WriteNumber("generated_tokens", stats.GeneratedTokens);
            json.WriteNumber("generation_seconds", stats.GenerationTime.TotalSeconds);
            json.WriteNumber("generated_tokens_per_second", stats.GeneratedTokensPerSecond);
            json.WriteEndObject();
        }
        context.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        context.Out.Flush();
    }

    private static string FinishReasonName(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.StopToken => "stop_token",
        FinishReason.StopSequence => "stop_sequence",
        FinishReason.ContextFull => "context_full",
        FinishReason.Cancelled => "cancelled",
        _ => reason.ToString(),
    };
}
