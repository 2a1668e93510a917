using System.Text.Json;
using KernelSharp.Tools.ServeLoad;

namespace KernelSharp.Cli.Tests.Serve;

/// <summary>The load tool (tools/ServeLoad) against the real `kernelsharp serve` on the tiny fixture.</summary>
public sealed class ServeLoadTests
{
    [Fact]
    public async Task Four_streaming_clients_get_every_token_and_the_summary_adds_up()
    {
        await using var server = await RunningServer.StartAsync("-c", "256", "--max-batch", "4");
        var options = new LoadOptions(new Uri(server.Address, "/v1/"), Clients: 4, Requests: 8, PromptTokens: 40, MaxTokens: 6, WarmupRequests: 2, ApiKey: RunningServer.ApiKey);

        LoadSummary summary = await LoadRun.RunAsync(options);

        Assert.Equal(RunningServer.ModelName, summary.Model);
        Assert.Equal((8, 8, 0), (summary.Requests, summary.Succeeded, summary.Failed));
        Assert.Equal(Enumerable.Range(0, 8), summary.Rows.Select(r => r.Index).Order());
        Assert.All(summary.Rows, row =>
        {
            Assert.True(row.FinishReason == "length" ? row.CompletionTokens == 6 : row.FinishReason == "stop" && row.CompletionTokens is >= 1 and <= 6,
                $"request {row.Index}: {row.CompletionTokens} tokens, finish {row.FinishReason}");
            Assert.InRange(row.Chunks, 1, row.CompletionTokens);
            Assert.Equal(row.Chunks - 1, row.ChunkGapsMs.Count);
            Assert.InRange(row.TimeToFirstTokenMs!.Value, 0.001, row.LatencyMs);
        });

        // the calibrated prompts land near the target in the server's own count (chat template included)
        Assert.InRange(summary.PromptTokens!.Mean, 30, 50);
        Assert.Equal(summary.Rows.Sum(r => r.CompletionTokens), summary.OutputTokens);
        Assert.Equal(summary.OutputTokens / summary.WallSeconds, summary.OutputTokensPerSecond, 6);
        Assert.Equal(8 / summary.WallSeconds, summary.RequestsPerSecond, 6);
        Assert.Equal(summary.Rows.Sum(r => r.Chunks - 1), summary.InterTokenLatency?.Count ?? 0);
        foreach (var p in new[] { summary.Ttft!, summary.TimePerOutputToken!, summary.Latency! })
        {
            Assert.True(0 < p.P50 && p.P50 <= p.P90 && p.P90 <= p.P99 && p.P99 <= p.Max, $"not ordered: {p}");
        }
        Assert.True(summary.Latency!.Max <= summary.WallSeconds * 1000);

        // two calibration requests, the warm-up and the measured ones: the server counted every one
        Assert.Equal(2 + 2 + 8, await server.Metric("kernelsharp_requests_total"));

        var json = JsonDocument.Parse(summary.ToJson()).RootElement;
        Assert.Equal(summary.Ttft!.P90, json.GetProperty("ttft").GetProperty("p90").GetDouble());
        Assert.Equal(8, json.GetProperty("rows").GetArrayLength());
        Assert.Contains("| requests | 8 succeeded, 0 failed", summary.ToMarkdown());
    }

    [Fact]
    public async Task A_server_that_is_not_there_or_refuses_the_key_is_one_clear_error()
    {
        var nowhere = new LoadOptions(new Uri($"http://127.0.0.1:{FreePort()}/v1/"), Clients: 1, Requests: 1, PromptTokens: 8, MaxTokens: 1);
        var unreachable = await Assert.ThrowsAsync<LoadToolException>(() => LoadRun.RunAsync(nowhere));
        Assert.StartsWith($"cannot reach the server at {nowhere.Endpoint}", unreachable.Message);
        var namedModel = await Assert.ThrowsAsync<LoadToolException>(() => LoadRun.RunAsync(nowhere with { Model = "some-model" }));
        Assert.StartsWith($"cannot reach the server at {nowhere.Endpoint}", namedModel.Message);

        await using var server = await RunningServer.StartAsync("-c", "64");
        var wrongKey = nowhere with { Endpoint = new Uri(server.Address, "/v1/"), ApiKey = "not-the-key" };
        var refused = await Assert.ThrowsAsync<LoadToolException>(() => LoadRun.RunAsync(wrongKey));
        Assert.Contains("refused the API key (401)", refused.Message);
    }

    [Fact]
    public void Percentiles_interpolate_between_ranks_like_numpy()
    {
        var p = Percentiles.Of(Enumerable.Range(1, 100).Select(i => (double)i).Reverse())!;
        Assert.Equal((100, 50.5, 50.5, 90.1, 99.01, 100.0), (p.Count, p.Mean, p.P50, Math.Round(p.P90, 10), Math.Round(p.P99, 10), p.Max));
        Assert.Equal(7, Percentiles.Of([7])!.P99);
        Assert.Null(Percentiles.Of([]));
    }

    [Fact]
    public void Prompt_length_is_solved_from_two_measured_prompts()
    {
        // 12 template tokens + 2 tokens per word: 40 tokens need 14 words
        Assert.Equal(14, PromptText.WordsFor(40, (10, 32), (20, 52)));
        Assert.Equal(1, PromptText.WordsFor(5, (10, 32), (20, 52)));   // shorter than the template alone: one word
        Assert.Equal(PromptText.Make(9, seed: 3), PromptText.Make(9, seed: 3));
        Assert.NotEqual(PromptText.Make(9, seed: 3), PromptText.Make(9, seed: 4));
        Assert.Equal(9, PromptText.Make(9, seed: 3).Split(' ').Length);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
