using KernelSharp.Chat;
using KernelSharp.Runtime.Tests.Checkpoints;
using Xunit;
using Microsoft.Extensions.AI;

namespace KernelSharp.Runtime.Tests.Chat;

public sealed class ChatClientTests
{
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
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(Conversation, options))
        {
            updates.Add(update);
        }

        Assert.Equal(response.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(response.FinishReason, updates[^1].FinishReason);
        Assert.True(response.Usage!.OutputTokenCount <= 10);
        Assert.True(response.Usage.InputTokenCount > 3);
        UsageContent usage = Assert.Single(updates.SelectMany(u => u.Contents).OfType<UsageContent>());
        Assert.Equal(response.Usage.OutputTokenCount, usage.Details.OutputTokenCount);
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

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.GetResponseAsync(Conversation, new ChatOptions { TopP = 0 }));
        Assert.NotNull(client.GetService<ChatClientMetadata>());
    }

    [Fact]
    public async Task A_stop_sequence_from_the_options_cuts_the_reply()
    {
        using IChatClient client = KernelSharpChatClient.Load(CheckpointTestFiles.TinyBf16, "cpu", contextSize: 128);
        var greedy = new ChatOptions { Temperature = 0, MaxOutputTokens = 16 };
        string free = (await client.GetResponseAsync(Conversation, greedy)).Text;
        if (free.Length < 4)
        {
            return; // the reply ended on EOS almost at once: nothing to cut
        }
        string stop = free.Substring(2, 2);
        greedy.StopSequences = [stop];
        ChatResponse cut = await client.GetResponseAsync(Conversation, greedy);
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);
    }

    [Fact]
    public async Task Stopping_a_stream_early_frees_the_client_for_the_next_request()
    {
        using IChatClient client = KernelSharpChatClient.Load(CheckpointTestFiles.TinyBf16, "cpu", contextSize: 256);
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 200 };
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(Conversation, options))
        {
            break; // the caller loses interest after the first piece
        }

        var next = new ChatOptions { Temperature = 0, MaxOutputTokens = 5 };
        Task<ChatResponse> response = client.GetResponseAsync(Conversation, next);
        Assert.Same(response, await Task.WhenAny(response, Task.Delay(TimeSpan.FromSeconds(60))));
        Assert.True((await response).Usage!.OutputTokenCount <= 5);
    }
}
