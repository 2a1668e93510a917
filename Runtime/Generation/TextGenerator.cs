using System.Diagnostics;
using System.Text;

namespace KernelSharp.Runtime.Generation;

/// <summary>
/// The generation loop: prefill the prompt, then sample → stream the text → decode the sampled token,
/// until max tokens, a stop token, a stop sequence, a full context or cancellation.
/// </summary>
public static class TextGenerator
{
    /// <param name="session">The model's KV-cached sequence; the prompt is appended to whatever it holds.</param>
    /// <param name="promptTokens">Tokens to prefill; at least one.</param>
    /// <param name="decodeToken">Turns one token id into the text it completes (a tokenizer's streaming decoder: incomplete UTF-8 held back).</param>
    /// <param name="onText">Receives text as soon as it is final (may be null).</param>
    /// <param name="cancellation">Checked between tokens; cancellation ends generation with <see cref="FinishReason.Cancelled"/> (no exception).</param>
    public static GenerationResult Generate(
        ILogitsSession session,
        IReadOnlyList<int> promptTokens,
        GenerationRequest request,
        Func<int, string> decodeToken,
        Action<string>? onText = null,
        CancellationToken cancellation = default)
    {
        if (promptTokens.Count == 0)
        {
            throw new ArgumentException("the prompt has no tokens", nameof(promptTokens));
        }
        if (session.Length + promptTokens.Count > session.MaxContext)
        {
            throw new ArgumentException(
                $"the prompt needs {session.Length + promptTokens.Count} positions but the context holds {session.MaxContext}",
                nameof(promptTokens));
        }

        var sampler = new TokenSampler(request.Sampling);
        var stopFilter = new StopSequenceFilter(request.StopSequences);
        var text = new StringBuilder();
        var sampled = new List<int>();
        void Emit(string piece)
        {
            if (piece.Length > 0)
            {
                text.Append(piece);
                onText?.Invoke(piece);
            }
        }

        if (cancellation.IsCancellationRequested)
        {
            var nothing = new GenerationStats(0, TimeSpan.Zero, 0, TimeSpan.Zero);
            return new GenerationResult(string.Empty, sampled, FinishReason.Cancelled, nothing, sampler.Seed);
        }

        // prefill
        var clock = Stopwatch.StartNew();
        int[] prompt = promptTokens.ToArray();
        var history = new List<int>(prompt); // what the repeat penalty looks back over: this prompt, then each sampled token
        float[] logits = session.PrefillLast(prompt); // [vocab]; every decode step refills this one array
        TimeSpan promptTime = clock.Elapsed;
        clock.Restart();

        // decode
        TimeSpan timeToFirstToken = TimeSpan.Zero;
        FinishReason finish;
        while (true)
        {
            if (sampled.Count >= request.MaxNewTokens)
            {
                finish = FinishReason.Length;
                break;
            }
            FiniteLogits.Require(logits, prompt.Length + sampled.Count);
            RepeatPenalty.ApplyInPlace(logits, history, request.Sampling.RepeatPenalty, request.Sampling.RepeatLastN);
            int token = sampler.Sample(logits);
            if (sampled.Count == 0)
            {
                timeToFirstToken = promptTime + clock.Elapsed;
            }
            sampled.Add(token);
            history.Add(token);
            if (request.StopTokenIds.Contains(token))
            {
                finish = FinishReason.StopToken;
                break;
            }
            Emit(stopFilter.Push(decodeToken(token)));
            if (stopFilter.Stopped)
            {
                finish = FinishReason.StopSequence;
                break;
            }
            if (sampled.Count >= request.MaxNewTokens)
            {
                // The last token's logits are never needed: skip its decode step.
                finish = FinishReason.Length;
                break;
            }
            if (cancellation.IsCancellationRequested)
            {
                finish = FinishReason.Cancelled;
                break;
            }
            if (session.Length >= session.MaxContext)
            {
                finish = FinishReason.ContextFull;
                break;
            }
            session.Decode(token, logits);
        }
        Emit(stopFilter.Flush());
        TimeSpan generationTime = clock.Elapsed;

        var stats = new GenerationStats(prompt.Length, promptTime, sampled.Count, generationTime) { TimeToFirstToken = timeToFirstToken };
        return new GenerationResult(text.ToString(), sampled, finish, stats, sampler.Seed);
    }
}
