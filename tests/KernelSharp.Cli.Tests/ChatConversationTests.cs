using KernelSharp.Cli.Hosting;
using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Cli.Tests;

public sealed class ChatConversationTests
{
    private static BpeTokenizer Tokenizer() => BpeTokenizer.Load(
        Path.Combine(Fixtures.TinyBf16, "tokenizer.json"), Path.Combine(Fixtures.TinyBf16, "tokenizer_config.json"));

    private static readonly GenerationRequest Greedy = new(6, SamplingOptions.Greedy, [], []);

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // thinking mode: the last reply renders differently once a user message follows it
    public void Turn_two_prefills_only_the_new_tokens_and_equals_a_run_from_scratch(bool thinking)
    {
        BpeTokenizer tokenizer = Tokenizer();
        using var model = DeepSeekModel.Load(Fixtures.TinyBf16, new ModelLoadOptions { Device = "cpu" });
        using InferenceSession session = model.CreateSession(256);
        var conversation = new ChatConversation(tokenizer, session, thinking, "Be brief.");

        GenerationResult first = conversation.Reply("Hello there", Greedy, null, CancellationToken.None);
        Assert.Equal(0, conversation.LastReusedTokens);
        Assert.Equal(conversation.LastPromptTokens.Count, first.Stats.PromptTokens);

        GenerationResult second = conversation.Reply("And what next?", Greedy, null, CancellationToken.None);
        int whole = conversation.LastPromptTokens.Count;
        Assert.True(conversation.LastReusedTokens > first.Stats.PromptTokens / 2,
            $"reused {conversation.LastReusedTokens} of {whole}");
        Assert.Equal(whole - conversation.LastReusedTokens, second.Stats.PromptTokens);

        // From scratch: the whole rendered history, one fresh session, one prefill.
        var history = new List<ChatTurn>
        {
            ChatTurn.System("Be brief."), ChatTurn.User("Hello there"), ChatTurn.Assistant(first.Text), ChatTurn.User("And what next?"),
        };
        int[] rendered = ChatPrompt.Encode(tokenizer, history, thinking);
        Assert.Equal(rendered, conversation.LastPromptTokens);
        using InferenceSession fresh = model.CreateSession(256);
        GenerationResult scratch = TextGenerator.Generate(fresh, rendered, Greedy, tokenizer.CreateStreamingDecoder().Push);
        Assert.Equal(scratch.TokenIds, second.TokenIds);
        Assert.Equal(scratch.Text, second.Text);
        Assert.Equal(fresh.Length, session.Length);
    }

    [Fact]
    public void Reset_keeps_the_system_prompt_and_the_cache_reuses_only_what_still_matches()
    {
        BpeTokenizer tokenizer = Tokenizer();
        using var model = DeepSeekModel.Load(Fixtures.TinyBf16, new ModelLoadOptions { Device = "cpu" });
        using InferenceSession session = model.CreateSession(256);
        var conversation = new ChatConversation(tokenizer, session, thinking: false, "Be brief.");
        conversation.Reply("Hello there", Greedy, null, CancellationToken.None);
        conversation.Reset();
        Assert.Single(conversation.History);

        GenerationResult again = conversation.Reply("Something else", Greedy, null, CancellationToken.None);
        int[] alone = ChatPrompt.Encode(tokenizer, [ChatTurn.System("Be brief."), ChatTurn.User("Something else")], thinking: false);
        Assert.Equal(alone, conversation.LastPromptTokens);
        Assert.InRange(conversation.LastReusedTokens, 1, alone.Length - 1);
        using InferenceSession fresh = model.CreateSession(256);
        GenerationResult scratch = TextGenerator.Generate(fresh, alone, Greedy, tokenizer.CreateStreamingDecoder().Push);
        Assert.Equal(scratch.TokenIds, again.TokenIds);
    }
}
