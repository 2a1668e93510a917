using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace KernelSharp.Cli.Tests.Serve;

/// <summary>
/// What clients and operators send besides the well-formed request: text that is not valid UTF-8, fields other
/// implementations accept (64-bit seeds, 5.0 for 5, max_completion_tokens), methods and routes the OpenAI clients and
/// load balancers use (HEAD, /v1/models/{id}, /health while draining), and the headers that tell a client when to retry.
/// </summary>
public sealed class ServeEdgeCaseTests
{
    private const string Chat = "/v1/chat/completions";

    [Fact]
    public async Task Invalid_text_is_a_400_naming_the_field_never_a_500()
    {
        await using var server = await RunningServer.StartAsync("-c", "64");
        (string Body, string Param)[] cases =
        [
            ("{\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}],\"max_tokens\":1}", "messages[0].content"),
            ("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\\udc00\"}]}],\"max_tokens\":1}", "messages[0].content"),
            ("{\"messages\":[{\"role\":\"\\ud83d\",\"content\":\"hi\"}],\"max_tokens\":1}", "messages[0].role"),
            ("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":\"\\udc00\",\"max_tokens\":1}", "stop"),
        ];
        foreach (var (body, param) in cases)
        {
            await AssertError(await Send(server, Chat, Encoding.UTF8.GetBytes(body)), HttpStatusCode.BadRequest, param);
        }

        // Raw bytes that are not UTF-8 (0xC3 0x28) inside the model name and the prompt.
        byte[] model = [.. "{\"model\":\""u8, 0xC3, 0x28, .. "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"u8];
        await AssertError(await Send(server, Chat, model), HttpStatusCode.BadRequest, "model");
        byte[] prompt = [.. "{\"prompt\":\"a"u8, 0xFF, .. "\",\"max_tokens\":1}"u8];
        await AssertError(await Send(server, "/v1/completions", prompt), HttpStatusCode.BadRequest, "prompt");

        Assert.Equal(6, await server.Metric("kernelsharp_requests_rejected_total")); // refused by the HTTP layer, counted
        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsJsonAsync(Chat, new { messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 1 })).StatusCode);
    }

    [Fact]
    public async Task Numbers_are_read_as_other_clients_write_them()
    {
        await using var server = await RunningServer.StartAsync("-c", "64");
        var messages = new[] { new { role = "user", content = "hi" } };

        await AssertError(await server.Http.PostAsJsonAsync(Chat, new { messages, n = 2 }), HttpStatusCode.BadRequest, "n");
        await AssertError(await server.Http.PostAsJsonAsync(Chat, new { messages, max_completion_tokens = -5 }), HttpStatusCode.BadRequest, "max_completion_tokens");
        var huge = await server.Http.PostAsJsonAsync(Chat, new { messages, max_tokens = 1_000_000_000_000L });
        Assert.Contains("at most", await AssertError(huge, HttpStatusCode.BadRequest, "max_tokens"));

        using var wholeAsDecimal = await Send(server, Chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3.0,\"n\":1}"u8.ToArray());
        Assert.Equal(HttpStatusCode.OK, wholeAsDecimal.StatusCode);
        Assert.Equal(3, (await wholeAsDecimal.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // A 64-bit seed: accepted, and the same seed draws the same tokens at temperature 1.
        async Task<string> Sampled(long seed)
        {
            using var response = await server.Http.PostAsJsonAsync("/v1/completions", new { prompt = "once", max_tokens = 8, temperature = 1, seed });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("text").GetString()!;
        }

        Assert.Equal(await Sampled(1L << 40), await Sampled(1L << 40));
    }

    [Fact]
    public async Task Methods_routes_and_retry_headers_follow_HTTP()
    {
        await using var server = await RunningServer.StartAsync("-c", "64");

        using var get = await server.Http.GetAsync(Chat);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Contains("POST", get.Content.Headers.Allow);
        using var head = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/health"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);

        var model = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/models/{RunningServer.ModelName}");
        Assert.Equal(RunningServer.ModelName, model.GetProperty("id").GetString());
        await AssertError(await server.Http.GetAsync("/v1/models/gpt-4"), HttpStatusCode.NotFound, "model");

        using var noKey = new HttpClient { BaseAddress = server.Address };
        using var unauthorized = await noKey.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Equal("Bearer", unauthorized.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Health_says_draining_once_shutdown_begins()
    {
        await using var server = await RunningServer.StartAsync("-c", "4096");
        using var leaving = new CancellationTokenSource();
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = JsonContent.Create(new { prompt = "go on", max_tokens = 4000, temperature = 0, stream = true }),
        };
        using var stream = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leaving.Token);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(leaving.Token));
        Assert.StartsWith("data: {", await reader.ReadLineAsync(leaving.Token)); // a sequence is running

        server.BeginShutdown();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var health = await server.Http.GetAsync("/health");
            if (health.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Assert.Equal("draining", (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
                Assert.NotNull(health.Headers.RetryAfter);
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "/health still answered 200 after shutdown began");
            await Task.Delay(10);
        }

        leaving.Cancel(); // the client goes away: its sequence ends and the drain completes
    }

    [Fact]
    public void An_empty_api_key_is_a_usage_error()
    {
        var result = Cli.Run("serve", "-m", Fixtures.TinyBf16, "--api-key", "", "--device", "cpu");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--api-key", Assert.Single(result.ErrorLines));
    }

    private static async Task<HttpResponseMessage> Send(RunningServer server, string path, byte[] body) =>
        await server.Http.PostAsync(path, new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } });

    /// <summary>Checks an OpenAI error object with this status and param; returns its message.</summary>
    private static async Task<string> AssertError(HttpResponseMessage response, HttpStatusCode status, string param)
    {
        using (response)
        {
            Assert.Equal(status, response.StatusCode);
            var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.Equal(param, error.GetProperty("param").GetString());
            return error.GetProperty("message").GetString()!;
        }
    }
}
