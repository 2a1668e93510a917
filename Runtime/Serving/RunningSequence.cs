using System.Diagnostics;
using System.Text;
using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Runtime.Serving;

/// <summary>
/// The engine's side of one admitted sequence: its cache session, how much of the prompt is prefilled, its sampler and
/// stop filter, and the token waiting to be decoded. Only the engine's step thread touches it.
/// </summary>
internal sealed class RunningSequence : IDisposable
{
    private readonly TokenSampler sampler;
    private readonly StopSequenceFilter stopFilter;
    private readonly StreamingDecoder? decoder;
    private readonly StringBuilder text = new();
    private readonly List<int> sampled = [];
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private TimeSpan promptTime;

    public RunningSequence(ServingSequence handle, InferenceSession session, int reservedPositions, BpeTokenizer? tokenizer)
    {
        Handle = handle;
        Session = session;
        ReservedPositions = reservedPositions;
        sampler = new TokenSampler(handle.Request.Generation.Sampling);
        stopFilter = new StopSequenceFilter(handle.Request.Generation.StopSequences);
        decoder = tokenizer?.CreateStreamingDecoder(skipSpecialTokens: true);
    }

    public ServingSequence Handle { get; }

    public InferenceSession Session { get; }

    /// <summary>Cache positions taken from the engine's budget until the sequence ends.</summary>
    public int ReservedPositions { get; }

    /// <summary>Prompt tokens already in the cache.</summary>
    public int Prefilled { get; private set; }

    public bool IsPrefilling => Prefilled < Handle.Request.PromptTokens.Count;

    /// <summary>The sampled token the next decode step appends, or null while prefilling or once finished.</summary>
    public int? PendingToken { get; private set; }

    public FinishReason? Finish { get; private set; }

    /// <summary>The next piece of the prompt to read: at most <paramref name="maxTokens"/> of the tokens not yet in the cache.</summary>
    public int[] NextPromptChunk(int maxTokens)
    {
        var prompt = Handle.Request.PromptTokens;
        var chunk = new int[Math.Min(maxTokens, prompt.Count - Prefilled)];
        for (var i = 0; i < chunk.Length; i++)
        {
            chunk[i] = prompt[Prefilled + i];
        }

        return chunk;
    }

    /// <summary>
    /// After a pass read <paramref name="count"/> more prompt tokens into the cache; <paramref name="lastLogits"/> [vocab]
    /// followed the last of them. After the prompt's last piece, samples the first token.
    /// </summary>
    public void PromptChunkRead(int count, ReadOnlySpan<float> lastLogits)
    {
        Prefilled += count;
        if (!IsPrefilling)
        {
            promptTime = clock.Elapsed;
            clock.Restart();
            Accept(lastLogits);
        }
    }

    /// <summary>Takes the logits [vocab] that followed the pending token: samples the next one, or finishes.</summary>
    public void Accept(ReadOnlySpan<float> logits)
    {
        PendingToken = null;
        var generation = Handle.Request.Generation;
        FiniteLogits.Require(logits, Session.Length);
        var token = sampler.Sample(logits);
        sampled.Add(token);
        Interlocked.Increment(ref Handle.generatedTokens);
        if (generation.StopTokenIds.Contains(token))
        {
            Finish = FinishReason.StopToken;
            return;
        }

        Emit(stopFilter.Push(decoder?.Push(token) ?? string.Empty));
        if (stopFilter.Stopped)
        {
            Finish = FinishReason.StopSequence;
        }
        else if (sampled.Count >= generation.MaxNewTokens)
        {
            Finish = FinishReason.Length; // the last token's logits are never needed: no decode step for it
        }
        else if (Session.Length >= Session.MaxContext)
        {
            Finish = FinishReason.ContextFull;
        }
        else
        {
            PendingToken = token;
        }
    }

    public void Cancel() => Finish = FinishReason.Cancelled;

    /// <summary>Hands the caller its result (text flushed) once <see cref="Finish"/> is set.</summary>
    public void Complete()
    {
        if (!IsPrefilling && Finish != FinishReason.StopToken && Finish != FinishReason.StopSequence)
        {
            Emit(stopFilter.Push(decoder?.Flush() ?? string.Empty));
        }

        Emit(stopFilter.Flush());
        var generationTime = IsPrefilling ? TimeSpan.Zero : clock.Elapsed;
        var stats = new GenerationStats(Prefilled, IsPrefilling ? clock.Elapsed : promptTime, sampled.Count, generationTime);
        Handle.Complete(new GenerationResult(text.ToString(), sampled.ToArray(), Finish ?? FinishReason.Cancelled, stats, sampler.Seed));
    }

    public void Dispose() => Session.Dispose();

    private void Emit(string piece)
    {
        if (piece.Length > 0)
        {
            text.Append(piece);
            Handle.Write(piece);
        }
    }
}
