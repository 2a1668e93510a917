using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;

namespace KernelSharp.Cli.Tests.Serve;

/// <summary>The real `kernelsharp serve` on the tiny fixture (CPU), spoken to with HttpClient and the official OpenAI clients.</summary>
public sealed class ServeTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Raw_routes_answer_in_the_OpenAI_shape()
    {
        await using var server = await RunningServer.StartAsync("-c", "256");

        var models = await server.Http.GetFromJsonAsync<JsonElement>("/v1/models");
        Assert.Equal(RunningServer.ModelName, models.GetProperty("data")[0].GetProperty("id").GetString());

        var chat = await Post(server, "/v1/chat/completions", new { model = RunningServer.ModelName, messages = new[] { new { role = "user", content = "hello" } }, max_tokens = 6, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, chat.Status);
        Assert.Equal("chat.completion", chat.Body.GetProperty("object").GetString());
        Assert.Equal("length", chat.Body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(6, chat.Body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var completion = await Post(server, "/v1/completions", new { prompt = "The sky is", max_tokens = 4, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, completion.Status);
        Assert.Equal("text_completion", completion.Body.GetProperty("object").GetString());

        Assert.Equal(2, await server.Metric("kernelsharp_requests_total"));
        Assert.Equal(10, await server.Metric("kernelsharp_generated_tokens_total"));
        Assert.Equal(0, await server.Metric("kernelsharp_kv_positions_used"));
    }

    [Fact]
    public async Task OpenAI_clients_stream_and_complete_the_same_greedy_text_with_usage()
    {
        await using var server = await RunningServer.StartAsync("-c", "256");
        var client = new ChatClient(RunningServer.ModelName, new ApiKeyCredential(RunningServer.ApiKey), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") });
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 8 };
        List<OpenAI.Chat.ChatMessage> messages = [new SystemChatMessage("be brief"), new UserChatMessage("Say something.")];

        ChatCompletion whole = (await client.CompleteChatAsync(messages, options)).Value;
        var streamed = new StringBuilder();
        ChatTokenUsage? usage = null;
        OpenAI.Chat.ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
        {
            streamed.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal(whole.Content[0].Text, streamed.ToString());
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Length, finish);
        Assert.Equal(8, usage?.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage?.InputTokenCount);

        IChatClient extensions = client.AsIChatClient();
        var response = await extensions.GetResponseAsync("Say something.", new ChatOptions { Temperature = 0, MaxOutputTokens = 3 });
        Assert.Equal(3, response.Usage?.OutputTokenCount);
    }

    [Fact]
    public async Task Many_concurrent_requests_get_the_tokens_each_gets_alone()
    {
        await using var server = await RunningServer.StartAsync("-c", "128", "--max-batch", "6");
        object Body(int i) => new { prompt = $"request number {i} asks", max_tokens = 5, temperature = 0 };
        var alone = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            alone.Add(Text(await Post(server, "/v1/completions", Body(i))));
        }

        var together = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Post(server, "/v1/completions", Body(i % 3))));

        Assert.All(together, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => alone[i % 3]), together.Select(Text));
    }

    [Fact]
    public async Task Bad_requests_get_OpenAI_errors_with_the_right_status()
    {
        await using var server = await RunningServer.StartAsync("-c", "64");
        var ok = new { messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 1 };

        using var noKey = new HttpClient { BaseAddress = server.Address };
        using var unauthorized = await noKey.PostAsJsonAsync("/v1/chat/completions", ok);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Equal("authentication_error", (await unauthorized.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("type").GetString());

        await AssertError(server, "/v1/chat/completions", new { model = "gpt-4", messages = ok.messages }, HttpStatusCode.NotFound, "model");
        await AssertError(server, "/v1/chat/completions", new { messages = ok.messages, temperature = 7 }, HttpStatusCode.BadRequest, "temperature");
        await AssertError(server, "/v1/chat/completions", new { messages = "hi" }, HttpStatusCode.BadRequest, "messages");
        await AssertError(server, "/v1/completions", new { prompt = string.Join(' ', Enumerable.Repeat("word", 200)) }, HttpStatusCode.RequestEntityTooLarge, "prompt");
        await AssertError(server, "/v1/nowhere", ok, HttpStatusCode.NotFound, null);

        using var malformed = await server.Http.PostAsync("/v1/chat/completions", new StringContent("{\"messages\": [", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        string malformedMessage = (await malformed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString()!;
        Assert.StartsWith("the body is not valid JSON (line 1, position 15): ", malformedMessage);
        Assert.DoesNotContain("LineNumber", malformedMessage); // the position once, counted from 1

        // Expect: 100-continue lets the server refuse the declared size before the client sends the body. The client waits
        // for the server's answer up to a minute: with HttpClient's default (one second) a loaded machine's late answer
        // found the client already sending, and the server's refusal ended in a broken pipe on the client's side.
        using var patient = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromMinutes(1) }) { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };
        patient.DefaultRequestHeaders.Authorization = server.Http.DefaultRequestHeaders.Authorization;
        using var hugeRequest = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(new string(' ', 5 * 1024 * 1024) + "{}", Encoding.UTF8, "application/json") };
        hugeRequest.Headers.ExpectContinue = true;
        using var huge = await patient.SendAsync(hugeRequest);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await Post(server, "/v1/chat/completions", ok)).Status); // still serving
    }

    [Fact]
    public async Task A_full_queue_answers_429_and_a_client_that_disconnects_frees_its_sequence()
    {
        await using var server = await RunningServer.StartAsync("-c", "2048", "--max-batch", "1", "--max-queue", "1");
        using var disconnecting = new CancellationTokenSource();
        var streamRequest = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = JsonContent.Create(new { prompt = "go on", max_tokens = 2000, temperature = 0, stream = true }),
        };
        using var stream = await server.Http.SendAsync(streamRequest, HttpCompletionOption.ResponseHeadersRead, disconnecting.Token);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(disconnecting.Token));
        Assert.StartsWith("data: {", await reader.ReadLineAsync(disconnecting.Token)); // running: the one batch slot is taken

        var queued = Post(server, "/v1/completions", new { prompt = "wait", max_tokens = 2, temperature = 0 });
        await WaitFor(async () => await server.Metric("kernelsharp_queue_length") == 1);
        await AssertError(server, "/v1/completions", new { prompt = "one too many", max_tokens = 2 }, HttpStatusCode.TooManyRequests, null);

        disconnecting.Cancel(); // the streaming client goes away mid-stream
        stream.Dispose();
        Assert.Equal(HttpStatusCode.OK, (await queued).Status); // its slot was freed, so the queued request ran
        await WaitFor(async () => await server.Metric("kernelsharp_running_sequences") == 0);
        Assert.True(await server.Metric("kernelsharp_generated_tokens_total") < 2000, "the disconnected sequence stopped early");
        Assert.Equal(0, await server.Metric("kernelsharp_kv_positions_used"));
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Post(RunningServer server, string path, object body)
    {
        using var response = await server.Http.PostAsJsonAsync(path, body, Json);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private static string Text((HttpStatusCode Status, JsonElement Body) response) =>
        response.Body.GetProperty("choices")[0].GetProperty("text").GetString()!;

    private static async Task AssertError(RunningServer server, string path, object body, HttpStatusCode status, string? param)
    {
        var (actual, json) = await Post(server, path, body);
        Assert.Equal(status, actual);
        var error = json.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        if (param is not null)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds; 60 s, because on 2 cores shared with another heavy process
    /// the server's request threads wait behind the decode loop's workers (a 20 s limit failed once that way).</summary>
    private static async Task WaitFor(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the server did not reach the expected state in time");
            await Task.Delay(10);
        }
    }
}
