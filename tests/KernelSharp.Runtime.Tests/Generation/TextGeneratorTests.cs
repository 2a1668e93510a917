using KernelSharp.Runtime.Generation;
using Xunit;

namespace KernelSharp.Runtime.Tests.Generation;

public sealed class TextGeneratorTests
{
    private static string Letter(int token) => ((char)('a' + token % 26)).ToString();

    [Fact]
    public void Greedy_generation_follows_the_argmax_of_each_step()
    {
        var session = new ScriptedLogitsSession(vocabSize: 40, maxContext: 100);
        int[] prompt = [3, 4, 5];
        var streamed = new List<string>();
        GenerationResult result = TextGenerator.Generate(
            session, prompt, new GenerationRequest(10, SamplingOptions.Greedy), Letter, streamed.Add);

        // Independent recomputation of what greedy decoding must produce.
        var expected = new List<int>();
        var oracle = new ScriptedLogitsSession(40, 100);
        int length = prompt.Length, last = prompt[^1];
        for (int i = 0; i < 10; i++)
        {
            int next = TokenSampler.ArgMax(oracle.LogitsAfter(length, last));
            expected.Add(next);
            length++;
            last = next;
        }

        Assert.Equal(expected, result.TokenIds);
        Assert.Equal(string.Concat(expected.Select(Letter)), result.Text);
        Assert.Equal(result.Text, string.Concat(streamed));
        Assert.Equal(FinishReason.Length, result.FinishReason);
        Assert.Equal(3, result.Stats.PromptTokens);
        Assert.Equal(10, result.Stats.GeneratedTokens);
        Assert.Equal(9, session.DecodeCalls);
    }

    [Fact]
    public void A_stop_token_ends_generation_and_stays_out_of_the_text()
    {
        var session = new ScriptedLogitsSession(40, 100);
        GenerationResult free = TextGenerator.Generate(session, [1], new GenerationRequest(8, SamplingOptions.Greedy), Letter);
        int stopToken = free.TokenIds[3];
        int firstStop = free.TokenIds.ToList().IndexOf(stopToken);

        session.Reset();
        var request = new GenerationRequest(8, SamplingOptions.Greedy, [stopToken], []);
        GenerationResult stopped = TextGenerator.Generate(session, [1], request, Letter);

        Assert.Equal(FinishReason.StopToken, stopped.FinishReason);
        Assert.Equal(free.TokenIds.Take(firstStop + 1), stopped.TokenIds);
        Assert.Equal(free.Text[..firstStop], stopped.Text);
    }

    [Fact]
    public void A_stop_sequence_ends_generation_and_cuts_the_text()
    {
        var session = new ScriptedLogitsSession(40, 100);
        GenerationResult free = TextGenerator.Generate(session, [2], new GenerationRequest(12, SamplingOptions.Greedy), Letter);
        string stop = free.Text.Substring(5, 2);
        int cut = free.Text.IndexOf(stop, StringComparison.Ordinal);

        session.Reset();
        var request = new GenerationRequest(12, SamplingOptions.Greedy, [], [stop]);
        GenerationResult stopped = TextGenerator.Generate(session, [2], request, Letter);

        Assert.Equal(FinishReason.StopSequence, stopped.FinishReason);
        Assert.Equal(free.Text[..cut], stopped.Text);
    }

    [Fact]
    public void Generation_stops_when_the_context_is_full()
    {
        var session = new ScriptedLogitsSession(40, maxContext: 6);
        GenerationResult result = TextGenerator.Generate(session, [1, 2, 3, 4], new GenerationRequest(50, SamplingOptions.Greedy), Letter);
        Assert.Equal(FinishReason.ContextFull, result.FinishReason);
        Assert.Equal(6, session.Length);
        Assert.Equal(3, result.TokenIds.Count);
    }

    [Fact]
    public void A_prompt_longer_than_the_context_is_refused()
    {
        var session = new ScriptedLogitsSession(40, maxContext: 3);
        var error = Assert.Throws<ArgumentException>(
            () => TextGenerator.Generate(session, [1, 2, 3, 4], new GenerationRequest(5, SamplingOptions.Greedy), Letter));
        Assert.Contains("context holds 3", error.Message);
    }

    [Fact]
    public void Cancellation_between_tokens_ends_cleanly_with_what_was_generated()
    {
        var session = new ScriptedLogitsSession(40, 100);
        using var cancel = new CancellationTokenSource();
        int pieces = 0;
        GenerationResult result = TextGenerator.Generate(
            session, [1], new GenerationRequest(50, SamplingOptions.Greedy), Letter,
            _ =>
            {
                if (++pieces == 4)
                {
                    cancel.Cancel();
                }
            },
            cancel.Token);
        Assert.Equal(FinishReason.Cancelled, result.FinishReason);
        Assert.Equal(4, result.TokenIds.Count);
        Assert.Equal(4, result.Text.Length);
        Assert.Equal(4, result.Stats.GeneratedTokens);
    }

    [Fact]
    public void Seeded_sampling_repeats_exactly()
    {
        GenerationResult Run()
        {
            var session = new ScriptedLogitsSession(40, 100);
            return TextGenerator.Generate(session, [9], new GenerationRequest(20, new SamplingOptions(1.0f, 10, 0.9f, 77)), Letter);
        }
        GenerationResult first = Run(), second = Run();
        Assert.Equal(first.TokenIds, second.TokenIds);
        Assert.Equal(77, first.Seed);
    }

    [Fact]
    public void Stats_line_reports_counts_and_rates()
    {
        var stats = new GenerationStats(10, TimeSpan.FromSeconds(0.5), 32, TimeSpan.FromSeconds(2));
        Assert.Equal("prompt: 10 tokens, 20.0 t/s | generated: 32 tokens, 16.0 t/s", stats.ToLine());
    }
}
