using KernelSharp.Chat;
using KernelSharp.Runtime.Serving;
using KernelSharp.Runtime.Tests.Checkpoints;
using KernelSharp.Runtime.Tests.Golden;
using KernelSharp.Runtime.Tokenization;
using Xunit;
using Microsoft.Extensions.AI;

namespace KernelSharp.Runtime.Tests.Chat;

/// <summary>The IChatClient on the tiny checkpoints, on the CPU: options, streaming, batching on the serving engine, cancellation, refusals.</summary>
public sealed class ChatClientTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly ChatMessage[] Conversation =
    [
        new(ChatRole.System, "You are terse."),
        new(ChatRole.User, "Hello"),
    ];

    [Fact]
    public async Task Streaming_and_non_streaming_give_the_same_greedy_reply()
    {
        using IChatClient client = KernelSharpChatClient.Load(CheckpointTestFiles.TinyBf16, "cpu", contextSize: 128);
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 10 };

        ChatResponse response = await client.GetResponseAsync(Conversation, options);
        List<ChatResponseUpdate> updates = await Collect(client.GetStreamingResponseAsync(Conversation, options));

        Assert.Equal(response.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(response.FinishReason, updates[^1].FinishReason);
        Assert.True(response.Usage!.OutputTokenCount <= 10);
        Assert.True(response.Usage.InputTokenCount > 3);
        UsageContent usage = Assert.Single(updates.SelectMany(u => u.Contents).OfType<UsageContent>());
        Assert.Equal(response.Usage.OutputTokenCount, usage.Details.OutputTokenCount);
        Assert.Equal(response.Usage.InputTokenCount, usage.Details.InputTokenCount);
    }

    [Fact]
    public async Task Options_map_to_sampling_and_limits()
    {
        using IChatClient client = KernelSharpChatClient.Load(CheckpointTestFiles.TinyFp8Yarn, "cpu", contextSize: 128);
        var seeded = new ChatOptions { Temperature = 1.2f, TopK = 50, TopP = 0.9f, Seed = 5, MaxOutputTokens = 8 };
        ChatResponse first = await client.GetResponseAsync(Conversation, seeded);
        ChatResponse second = await client.GetResponseAsync(Conversation, seeded);
        Assert.Equal(first.Text, second.Text);
        Assert.Equal(8, first.Usage!.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Length, first.FinishReason);

        ChatResponse one = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 1 });
        Assert.Equal(1, one.Usage!.OutputTokenCount);

        // Instructions are a system prompt in front of the conversation: more input tokens than without them
        ChatResponse instructed = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 1, Instructions = "Answer in French." });
        Assert.True(instructed.Usage!.InputTokenCount > one.Usage.InputTokenCount);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(Conversation, new ChatOptions { TopP = 0 }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 0 }));
        Assert.NotNull(client.GetService<ChatClientMetadata>());
    }

    [Fact]
    public async Task A_stop_sequence_from_the_options_cuts_the_reply()
    {
        using IChatClient client = KernelSharpChatClient.Load(CheckpointTestFiles.TinyBf16, "cpu", contextSize: 128);
        var greedy = new ChatOptions { Temperature = 0, MaxOutputTokens = 16 };
        string free = (await client.GetResponseAsync(Conversation, greedy)).Text;
        Assert.True(free.Length >= 4, $"the greedy reply '{free}' is too short to cut");
        string stop = free.Substring(2, 2);
        greedy.StopSequences = [stop];
        ChatResponse cut = await client.GetResponseAsync(Conversation, greedy);
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);
    }

    [Fact]
    public async Task Concurrent_requests_are_batched_and_each_gets_the_reply_it_gets_alone()
    {
        using IChatClient client = KernelSharpChatClient.Load(CheckpointTestFiles.TinyBf16, "cpu", contextSize: 128, maxBatch: 4);
        ServingEngine engine = client.GetService<ServingEngine>()!;
        ChatMessage[][] conversations = [.. new[] { "Hello", "What is two plus two?", "Tell me a story about a cat", "ok" }
            .Select(text => new[] { new ChatMessage(ChatRole.User, text) })];
        var greedy = new ChatOptions { Temperature = 0, MaxOutputTokens = 12 };

        var alone = new List<string>();
        long stepsBefore = engine.Metrics.Steps;
        foreach (ChatMessage[] conversation in conversations)
        {
            alone.Add((await client.GetResponseAsync(conversation, greedy)).Text);
        }
        long stepsAlone = engine.Metrics.Steps - stepsBefore;

        // half streaming, half not, all in flight at once
        stepsBefore = engine.Metrics.Steps;
        Task<string>[] together =
        [
            .. conversations.Select((conversation, i) => i % 2 == 0
                ? client.GetResponseAsync(conversation, greedy).ContinueWith(t => t.Result.Text, TaskScheduler.Default)
                : Collect(client.GetStreamingResponseAsync(conversation, greedy)).ContinueWith(t => string.Concat(t.Result.Select(u => u.Text)), TaskScheduler.Default)),
        ];
        string[] texts = await Task.WhenAll(together).WaitAsync(Patience);
        long stepsTogether = engine.Metrics.Steps - stepsBefore;

        Assert.Equal(alone, texts);
        Assert.Contains(alone, text => text.Length > 0);
        Assert.True(stepsTogether < stepsAlone, $"together {stepsTogether} steps, one after another {stepsAlone}: the requests shared steps");
        Assert.Equal(0, engine.Metrics.Running);
    }

    [Fact]
    public async Task Cancelling_mid_stream_throws_and_frees_the_sequence()
    {
        // no stop tokens and no MaxOutputTokens: uncancelled, the reply would fill the context (~2000 tokens)
        using IChatClient client = TinyClient(new ServingOptions(MaxBatch: 2, KvTokenBudget: 2048, MaxContext: 2048), stopTokenIds: []);
        ServingEngine engine = client.GetService<ServingEngine>()!;
        using var cancellation = new CancellationTokenSource();
        var pieces = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(Conversation, new ChatOptions { Temperature = 0 }, cancellation.Token))
            {
                pieces++;
                cancellation.Cancel();
            }
        }).WaitAsync(Patience);

        ServingMetrics metrics = engine.Metrics;
        Assert.True(pieces >= 1);
        Assert.Equal(0, metrics.Running);
        Assert.Equal(0, metrics.QueueLength);
        Assert.Equal(0, metrics.KvPositionsReserved);
        Assert.True(metrics.GeneratedTokens < 1000, $"{metrics.GeneratedTokens} tokens: the sequence ran on after the cancel");
    }

    [Fact]
    public async Task Stopping_a_stream_early_frees_its_sequence_for_the_next_request()
    {
        using IChatClient client = KernelSharpChatClient.Load(CheckpointTestFiles.TinyBf16, "cpu", contextSize: 256, maxBatch: 1);
        ServingEngine engine = client.GetService<ServingEngine>()!;
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 200 };
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(Conversation, options))
        {
            break; // the caller loses interest after the first piece
        }

        Assert.Equal(0, engine.Metrics.Running);
        Assert.Equal(0, engine.Metrics.KvPositionsReserved);
        var next = new ChatOptions { Temperature = 0, MaxOutputTokens = 5 };
        ChatResponse response = await client.GetResponseAsync(Conversation, next).WaitAsync(Patience);
        Assert.True(response.Usage!.OutputTokenCount <= 5);
    }

    [Fact]
    public async Task A_conversation_longer_than_the_context_gets_the_engines_refusal()
    {
        using IChatClient client = KernelSharpChatClient.Load(CheckpointTestFiles.TinyBf16, "cpu", contextSize: 8);
        ServingEngine engine = client.GetService<ServingEngine>()!;

        var refusal = await Assert.ThrowsAsync<ServingRejectedException>(() => client.GetResponseAsync(Conversation).WaitAsync(Patience));
        Assert.Equal(RejectionReason.TooLong, refusal.Reason);
        Assert.Contains("the context holds 8", refusal.Message);
        Assert.DoesNotContain('\n', refusal.Message);

        await Assert.ThrowsAsync<ServingRejectedException>(() => Collect(client.GetStreamingResponseAsync(Conversation)).WaitAsync(Patience));
        Assert.Equal(2, engine.Metrics.RequestsRejected);
        Assert.Equal(0, engine.Metrics.RequestsAccepted);
    }

    [Fact]
    public async Task A_full_queue_refuses_at_once_instead_of_waiting()
    {
        // no stop tokens: the first request runs until cancelled
        using IChatClient client = TinyClient(new ServingOptions(MaxBatch: 1, MaxQueue: 1, KvTokenBudget: 1024, MaxContext: 1024), stopTokenIds: []);
        ServingEngine engine = client.GetService<ServingEngine>()!;
        using var stopAll = new CancellationTokenSource();

        // the first request runs (its first piece arrived), the second waits for the one batch slot, the third finds the queue full
        await using IAsyncEnumerator<ChatResponseUpdate> running = client.GetStreamingResponseAsync(Conversation, new ChatOptions { Temperature = 0 }, stopAll.Token).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync().AsTask().WaitAsync(Patience));
        Task<ChatResponse> waiting = client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0 }, stopAll.Token);
        var refusal = await Assert.ThrowsAsync<ServingRejectedException>(() => client.GetResponseAsync(Conversation));
        Assert.Equal(RejectionReason.QueueFull, refusal.Reason);
        Assert.Contains("try again later", refusal.Message);

        await stopAll.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Patience));
        Assert.Equal(0, engine.Metrics.QueueLength);
    }

    [Fact]
    public async Task Disposing_the_client_ends_the_calls_in_flight_instead_of_leaving_them_hanging()
    {
        KernelSharpChatClient client = TinyClient(new ServingOptions(MaxBatch: 1, KvTokenBudget: 1024, MaxContext: 1024), stopTokenIds: []);
        await using IAsyncEnumerator<ChatResponseUpdate> running = client.GetStreamingResponseAsync(Conversation, new ChatOptions { Temperature = 0 }).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync().AsTask().WaitAsync(Patience));
        Task<ChatResponse> waiting = client.GetResponseAsync(Conversation);

        client.Dispose();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Patience));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (await running.MoveNextAsync().AsTask().WaitAsync(Patience))
            {
            }
        });
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetResponseAsync(Conversation));
    }

    /// <summary>A client over an engine of its own on the shared tiny bf16 model (the client disposes the engine, not the model).</summary>
    private static KernelSharpChatClient TinyClient(ServingOptions options, IReadOnlyCollection<int> stopTokenIds)
    {
        string folder = Fixtures.Directory(Fixtures.Bf16);
        var tokenizer = BpeTokenizer.Load(Path.Combine(folder, "tokenizer.json"), Path.Combine(folder, "tokenizer_config.json"));
        var engine = new ServingEngine(Fixtures.Model(Fixtures.Bf16), options, tokenizer);
        return new KernelSharpChatClient(engine, tokenizer, stopTokenIds, Fixtures.Bf16, owned: engine);
    }

    private static async Task<List<ChatResponseUpdate>> Collect(IAsyncEnumerable<ChatResponseUpdate> stream)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in stream)
        {
            updates.Add(update);
        }
        return updates;
    }
}
