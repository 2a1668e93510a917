using System.Globalization;
using System.Text;
using KernelSharp.Runtime.Serving;

namespace KernelSharp.Cli.Serving;

/// <summary>The engine's metrics in the Prometheus text exposition format (GET /metrics).</summary>
internal sealed class PrometheusText
{
    private readonly Lock gate = new();
    private long lastTokens;
    private long lastTicks = Environment.TickCount64;
    private double tokensPerSecond;

    /// <param name="metrics">Null while the model is loading: only the loading gauge is written.</param>
    /// <param name="refusedByServer">/v1 requests the HTTP layer refused before they reached the engine (bad fields, key, route, size).</param>
    public string Render(ServingMetrics? metrics, long refusedByServer)
    {
        var text = new StringBuilder();
        Write(text, "kernelsharp_loading", "gauge", "1 while the model is loading", metrics is null ? 1 : 0);
        if (metrics is null)
        {
            return text.ToString();
        }

        Write(text, "kernelsharp_requests_total", "counter", "requests accepted into the queue", metrics.RequestsAccepted);
        Write(text, "kernelsharp_requests_rejected_total", "counter", "/v1 requests refused (invalid field or body, API key, unknown model or route, too long, queue full, shutting down)", metrics.RequestsRejected + refusedByServer);
        Write(text, "kernelsharp_queue_length", "gauge", "requests waiting for a slot", metrics.QueueLength);
        Write(text, "kernelsharp_running_sequences", "gauge", "sequences prefilling or decoding", metrics.Running);
        Write(text, "kernelsharp_generated_tokens_total", "counter", "tokens sampled", metrics.GeneratedTokens);
        Write(text, "kernelsharp_tokens_per_second", "gauge", "tokens sampled per second since the previous scrape", TokensPerSecond(metrics.GeneratedTokens));
        Write(text, "kernelsharp_engine_steps_total", "counter", "engine steps (each: one batched decode pass and one pass over the step's prompt pieces)", metrics.Steps);
        Write(text, "kernelsharp_kv_positions_used", "gauge", "KV cache positions reserved by running sequences", metrics.KvPositionsReserved);
        Write(text, "kernelsharp_kv_positions_capacity", "gauge", "KV cache positions all sequences may hold together", metrics.KvPositionsBudget);
        Write(text, "kernelsharp_kv_blocks_used", "gauge", "KV cache blocks that running sequences hold", metrics.KvBlocksUsed);
        Write(text, "kernelsharp_kv_blocks_total", "gauge", "KV cache blocks in the shared pool", metrics.KvBlocksTotal);
        return text.ToString();
    }

    private double TokensPerSecond(long tokens)
    {
        lock (gate)
        {
            var now = Environment.TickCount64;
            if (now - lastTicks >= 100)
            {
                tokensPerSecond = (tokens - lastTokens) * 1000.0 / (now - lastTicks);
                lastTokens = tokens;
                lastTicks = now;
            }

            return tokensPerSecond;
        }
    }

    private static void Write(StringBuilder text, string name, string type, string help, double value)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        text.Append(name).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
    }
}
