using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace KernelSharp.Tools.ServeLoad;

/// <summary>
/// The numbers of one load run: throughput over the measured phase's wall time, and the latency distributions
/// (milliseconds) over its successful requests. <see cref="Rows"/> keeps every request for later analysis.
/// </summary>
/// <param name="Ttft">time to first token: sending → first text chunk</param>
/// <param name="InterTokenLatency">every gap between consecutive text chunks of every request (ITL as vLLM's benchmark counts it)</param>
/// <param name="TimePerOutputToken">per request, (latency - TTFT) / (completion tokens - 1)</param>
/// <param name="Latency">per request, sending → end of stream</param>
public sealed record LoadSummary(
    string Endpoint,
    string Model,
    int Clients,
    int Requests,
    int Succeeded,
    int Failed,
    int PromptTokensTarget,
    int PromptWords,
    Percentiles? PromptTokens,
    int MaxTokens,
    long OutputTokens,
    long TextChunks,
    double WallSeconds,
    double RequestsPerSecond,
    double OutputTokensPerSecond,
    Percentiles? Ttft,
    Percentiles? InterTokenLatency,
    Percentiles? TimePerOutputToken,
    Percentiles? Latency,
    IReadOnlyDictionary<string, int> FinishReasons,
    IReadOnlyDictionary<string, int> Errors,
    IReadOnlyList<RequestRecord> Rows)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static LoadSummary From(LoadOptions options, string model, int promptWords, IReadOnlyList<RequestRecord> rows, TimeSpan wall)
    {
        var ok = rows.Where(r => r.Succeeded).ToList();
        long outputTokens = ok.Sum(r => (long)r.CompletionTokens);
        double seconds = Math.Max(wall.TotalSeconds, 1e-9);
        return new LoadSummary(
            options.Endpoint.ToString(),
            model,
            options.Clients,
            rows.Count,
            ok.Count,
            rows.Count - ok.Count,
            options.PromptTokens,
            promptWords,
            Percentiles.Of(ok.Select(r => (double)r.PromptTokens)),
            options.MaxTokens,
            outputTokens,
            ok.Sum(r => (long)r.Chunks),
            wall.TotalSeconds,
            ok.Count / seconds,
            outputTokens / seconds,
            Percentiles.Of(ok.Where(r => r.TimeToFirstTokenMs is not null).Select(r => r.TimeToFirstTokenMs!.Value)),
            Percentiles.Of(ok.SelectMany(r => r.ChunkGapsMs)),
            Percentiles.Of(ok.Where(r => r.TimePerOutputTokenMs is not null).Select(r => r.TimePerOutputTokenMs!.Value)),
            Percentiles.Of(ok.Select(r => r.LatencyMs)),
            ok.GroupBy(r => r.FinishReason ?? "none").OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
            rows.Where(r => !r.Succeeded).GroupBy(r => r.Error!).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count()),
            rows);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>A markdown summary: one line of setup, one table of throughput and latencies, then any errors.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        string prompt = PromptTokens is { } p ? $"{p.Mean:F0} prompt tokens (target {PromptTokensTarget})" : $"target {PromptTokensTarget} prompt tokens";
        text.AppendLine(Invariant($"{Requests} streaming chat requests to {Endpoint} (model '{Model}') from {Clients} concurrent clients; {prompt}, max_tokens {MaxTokens}"));
        text.AppendLine();
        text.AppendLine("| what | value |");
        text.AppendLine("|---|---|");
        text.AppendLine(Invariant($"| requests | {Succeeded} succeeded, {Failed} failed in {WallSeconds:F2} s |"));
        text.AppendLine(Invariant($"| requests/s | {RequestsPerSecond:F2} |"));
        text.AppendLine(Invariant($"| output tokens/s (all clients) | {OutputTokensPerSecond:F1} ({OutputTokens} tokens in {TextChunks} text chunks) |"));
        text.AppendLine($"| TTFT ms | {Row(Ttft)} |");
        text.AppendLine($"| ITL ms (per text chunk) | {Row(InterTokenLatency)} |");
        text.AppendLine($"| time per output token ms | {Row(TimePerOutputToken)} |");
        text.AppendLine($"| request latency ms | {Row(Latency)} |");
        text.AppendLine($"| finish reasons | {string.Join(", ", FinishReasons.Select(f => $"{f.Key} {f.Value}"))} |");
        foreach (var (error, count) in Errors)
        {
            text.AppendLine($"| error ×{count} | {error.Replace("|", "\\|", StringComparison.Ordinal)} |");
        }

        return text.ToString();
    }

    private static string Row(Percentiles? p) => p is null
        ? "none"
        : Invariant($"p50 {p.P50:F1}, p90 {p.P90:F1}, p99 {p.P99:F1} (mean {p.Mean:F1}, max {p.Max:F1}, n {p.Count})");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
