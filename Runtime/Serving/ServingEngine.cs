using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Runtime.Serving;

/// <summary>
/// Serves many requests on one model with continuous batching. A single step thread owns the model: each step it
/// admits waiting requests (FIFO) while the batch and the KV budget have room, ends cancelled sequences (their caches
/// are freed at once), advances every decoding sequence by one token in one <see cref="DeepSeekModel.DecodeBatch"/>,
/// and reads up to a chunk of prompt tokens, oldest prompt first (several short prompts share one step's chunk). Sequences join and leave between steps.
/// Each sequence samples with its own sampler and seed, so its tokens depend only on its own request.
/// </summary>
public sealed class ServingEngine : IDisposable
{
    private readonly DeepSeekModel model;
    private readonly SharedKvCache kvCache;
    private readonly BpeTokenizer? tokenizer;
    private readonly Lock gate = new();
    private readonly Queue<ServingSequence> waiting = new();
    private readonly List<RunningSequence> running = [];
    private readonly SemaphoreSlim wake = new(0);
    private readonly Thread stepThread;
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool accepting = true;
    private volatile bool stopping;
    private long reservedPositions;
    private long requestsAccepted;
    private long requestsRejected;
    private long generatedTokens;
    private long steps;
    private float[] stepLogits = []; // [B × vocab] of the step thread's batched decode, grown to the largest batch and reused

    /// <param name="tokenizer">Turns generated tokens into text and enables stop sequences; without it results carry token ids only.</param>
    public ServingEngine(DeepSeekModel model, ServingOptions options, BpeTokenizer? tokenizer = null)
    {
        var invalid = options.FindInvalidSetting();
        if (invalid is not null)
        {
            throw new UserInputException(invalid);
        }

        this.model = model;
        this.tokenizer = tokenizer;
        Options = options;
        // One paged pool for every sequence: a decode step's sequences then share their attention launches, and memory
        // follows what the running requests reserved rather than a full context each.
        // Sequences reserve whole blocks: each may round up by less than a block, so the pool has that slack on top of
        // the budget and the position budget is what admission is limited by.
        kvCache = model.CreateSharedKvCache(options.KvTokenBudget + ((long)options.MaxBatch * (KvCachePool.DefaultBlockSize - 1)));
        stepThread = new Thread(StepLoop) { IsBackground = true, Name = "KernelSharp serving steps" };
        stepThread.Start();
    }

    public ServingOptions Options { get; }

    /// <summary>A point-in-time view of the engine for /metrics and /health.</summary>
    public ServingMetrics Metrics
    {
        get
        {
            lock (gate)
            {
                return new ServingMetrics(
                    Interlocked.Read(ref requestsAccepted),
                    Interlocked.Read(ref requestsRejected),
                    waiting.Count,
                    running.Count,
                    Interlocked.Read(ref generatedTokens),
                    Interlocked.Read(ref steps),
                    Interlocked.Read(ref reservedPositions),
                    Options.KvTokenBudget,
                    kvCache.UsedBlocks,
                    kvCache.Blocks);
            }
        }
    }

    /// <summary>
    /// Queues a request and returns at once. Throws <see cref="ServingRejectedException"/> when the request is invalid,
    /// can never fit, the queue is full, or the engine is shutting down. <paramref name="cancellation"/> ends the
    /// sequence (waiting or running) and frees its cache.
    /// </summary>
    public ServingSequence Submit(ServingRequest request, CancellationToken cancellation = default)
    {
        Validate(request);
        var sequence = new ServingSequence(request, cancellation, () => Wake());
        lock (gate)
        {
            if (!accepting)
            {
                Reject(RejectionReason.ShuttingDown, "the server is shutting down and takes no new requests");
            }

            if (waiting.Count >= Options.MaxQueue)
            {
                Reject(RejectionReason.QueueFull, $"{waiting.Count} requests are already waiting (the queue holds {Options.MaxQueue}); try again later");
            }

            waiting.Enqueue(sequence);
            requestsAccepted++;
        }

        Wake();
        return sequence;
    }

    /// <summary>False once <see cref="DrainAsync"/> or <see cref="Dispose"/> began: new requests are refused (a server's health check says so).</summary>
    public bool IsAccepting => accepting;

    /// <summary>Stops taking requests, lets every queued and running sequence finish, then stops the step thread.</summary>
    public Task DrainAsync()
    {
        accepting = false;
        stopping = true;
        Wake();
        return stopped.Task;
    }

    /// <summary>Cancels everything still waiting or running, frees the caches and stops the step thread.</summary>
    public void Dispose()
    {
        accepting = false;
        lock (gate)
        {
            foreach (var sequence in waiting)
            {
                sequence.Cancel();
            }
        }

        foreach (var sequence in RunningSnapshot())
        {
            sequence.Handle.Cancel();
        }

        stopping = true;
        Wake();
        stepThread.Join();
        wake.Dispose();
        kvCache.Dispose();
    }

    private void Validate(ServingRequest request)
    {
        if (request.PromptTokens.Count == 0)
        {
            Reject(RejectionReason.Invalid, "the prompt has no tokens");
        }

        if (request.Generation.MaxNewTokens < 1)
        {
            Reject(RejectionReason.Invalid, $"max_tokens must be at least 1 (got {request.Generation.MaxNewTokens})");
        }

        var invalidSampling = request.Generation.Sampling.FindInvalidSetting();
        if (invalidSampling is not null)
        {
            Reject(RejectionReason.Invalid, invalidSampling);
        }

        var vocab = model.Config.VocabSize;
        foreach (var token in request.PromptTokens)
        {
            if ((uint)token >= (uint)vocab)
            {
                Reject(RejectionReason.Invalid, $"token id {token} is outside the vocabulary [0, {vocab})");
            }
        }

        if (request.PromptTokens.Count >= Options.MaxContext)
        {
            Reject(RejectionReason.TooLong, $"the prompt has {request.PromptTokens.Count} tokens but the context holds {Options.MaxContext} (prompt + at least one new token)");
        }
    }

    private void Reject(RejectionReason reason, string message)
    {
        Interlocked.Increment(ref requestsRejected);
        throw new ServingRejectedException(reason, message);
    }

    private void Wake()
    {
        try
        {
            wake.Release();
        }
        catch (ObjectDisposedException)
        {
            // the engine is gone; nothing to wake
        }
    }

    private List<RunningSequence> RunningSnapshot()
    {
        lock (gate)
        {
            return [.. running];
        }
    }

    private void StepLoop()
    {
        try
        {
            while (true)
            {
                Admit();
                EndCancelled();
                List<RunningSequence> batch;
                lock (gate)
                {
                    batch = [.. running];
                    if (batch.Count == 0 && waiting.Count == 0 && stopping)
                    {
                        break;
                    }
                }

                if (batch.Count == 0)
                {
                    wake.Wait();
                    continue;
                }

                Step(batch);
                Interlocked.Increment(ref steps);
            }
        }
        finally
        {
            stopped.TrySetResult();
        }
    }

    /// <summary>Moves waiting requests to running, in arrival order, while the batch and the KV budget have room.</summary>
    private void Admit()
    {
        while (true)
        {
            ServingSequence next;
            int positions;
            lock (gate)
            {
                DropCancelledWaiting();

                if (waiting.Count == 0 || running.Count >= Options.MaxBatch)
                {
                    return;
                }

                next = waiting.Peek();
                positions = Math.Min(next.Request.PositionsNeeded, Options.MaxContext);
                if (reservedPositions + positions > Options.KvTokenBudget || kvCache.UnreservedBlocks < kvCache.BlocksFor(positions))
                {
                    return; // the head waits for memory; later requests wait behind it so none starves
                }

                waiting.Dequeue();
                reservedPositions += positions;
            }

            try
            {
                var sequence = new RunningSequence(next, model.CreateSession(positions, kvCache), positions, tokenizer);
                lock (gate)
                {
                    running.Add(sequence);
                }
            }
            catch (Exception error)
            {
                Interlocked.Add(ref reservedPositions, -positions);
                next.Fail(error);
            }
        }
    }

    /// <summary>Requests cancelled while waiting leave the queue at once (wherever they are in it), so they stop counting against it.</summary>
    private void DropCancelledWaiting()
    {
        if (!waiting.Any(s => s.IsCancellationRequested))
        {
            return;
        }

        var kept = waiting.Where(s => !s.IsCancellationRequested).ToList();
        foreach (var cancelled in waiting.Where(s => s.IsCancellationRequested).ToList())
        {
            FinishUnstarted(cancelled);
        }

        waiting.Clear();
        kept.ForEach(waiting.Enqueue);
    }

    private static void FinishUnstarted(ServingSequence sequence)
    {
        var stats = new GenerationStats(0, TimeSpan.Zero, 0, TimeSpan.Zero);
        sequence.Complete(new GenerationResult(string.Empty, [], FinishReason.Cancelled, stats, sequence.Request.Generation.Sampling.Seed ?? 0));
    }

    private void EndCancelled()
    {
        foreach (var sequence in RunningSnapshot())
        {
            if (sequence.Handle.IsCancellationRequested)
            {
                sequence.Cancel();
                Retire(sequence);
            }
        }
    }

    /// <summary>One step: every decoding sequence advances one token in one batched pass, then up to PrefillChunkTokens prompt tokens are read, oldest prompt first.</summary>
    private void Step(List<RunningSequence> batch)
    {
        var decoding = batch.Where(s => s.PendingToken is not null).ToList();
        if (decoding.Count > 0)
        {
            DecodeStep(decoding);
        }

        // The step's prompt budget goes to the prefilling sequences oldest first: short prompts arriving together are
        // read in one step each instead of queueing one per step (64 clients of 128-token prompts waited up to 64 steps
        // for their first token on the H100), and a long prompt still takes at most the budget per step. The step's
        // pieces are read in one forward pass (the weights read once for all of them, not once per sequence).
        var budget = Options.PrefillChunkTokens;
        var pieces = new List<(RunningSequence Sequence, int[] Tokens)>();
        foreach (var prefilling in batch.Where(s => s.IsPrefilling && s.Finish is null))
        {
            if (budget == 0)
            {
                break;
            }

            var chunk = prefilling.NextPromptChunk(budget);
            pieces.Add((prefilling, chunk));
            budget -= chunk.Length;
        }

        if (pieces.Count > 0)
        {
            ReadPromptPieces(pieces);
        }

        foreach (var sequence in batch.Where(s => s.Finish is not null))
        {
            Retire(sequence);
        }
    }

    /// <summary>The step thread's logits buffer as [<paramref name="rows"/> × vocab], grown to the largest step so far and reused.</summary>
    private Span<float> StepLogits(int rows)
    {
        var length = rows * model.Config.VocabSize;
        if (stepLogits.Length < length)
        {
            stepLogits = new float[length];
        }

        return stepLogits.AsSpan(0, length);
    }

    /// <summary>One batched decode pass; a failed pass fails every sequence in it, a failed sample only its own.</summary>
    private void DecodeStep(List<RunningSequence> decoding)
    {
        var vocab = model.Config.VocabSize;
        var logits = StepLogits(decoding.Count); // [B × vocab]
        try
        {
            var tokens = decoding.Select(s => s.PendingToken!.Value).ToArray();
            model.DecodeBatch(decoding.Select(s => s.Session).ToList(), tokens, logits);
        }
        catch (Exception error)
        {
            decoding.ForEach(s => Fail(s, error));
            return;
        }

        Interlocked.Add(ref generatedTokens, decoding.Count);
        for (var b = 0; b < decoding.Count; b++)
        {
            try
            {
                decoding[b].Accept(logits.Slice(b * vocab, vocab));
            }
            catch (Exception error)
            {
                Fail(decoding[b], error);
            }
        }
    }

    /// <summary>One forward pass over the step's prompt pieces; a failed pass fails the sequences in it.</summary>
    private void ReadPromptPieces(List<(RunningSequence Sequence, int[] Tokens)> pieces)
    {
        var vocab = model.Config.VocabSize;
        var logits = StepLogits(pieces.Count); // [pieces × vocab], after each piece's last token
        try
        {
            model.PrefillBatch(pieces.Select(p => (p.Sequence.Session, (ReadOnlyMemory<int>)p.Tokens)).ToList(), logits);
        }
        catch (Exception error)
        {
            pieces.ForEach(p => Fail(p.Sequence, error));
            return;
        }

        for (var i = 0; i < pieces.Count; i++)
        {
            var (sequence, tokens) = pieces[i];
            try
            {
                sequence.PromptChunkRead(tokens.Length, logits.Slice(i * vocab, vocab));
                if (!sequence.IsPrefilling)
                {
                    Interlocked.Increment(ref generatedTokens);
                }
            }
            catch (Exception error)
            {
                Fail(sequence, error);
            }
        }
    }

    private void Fail(RunningSequence sequence, Exception error)
    {
        Release(sequence);
        sequence.Handle.Fail(error);
    }

    private void Retire(RunningSequence sequence)
    {
        if (Release(sequence))
        {
            sequence.Complete();
        }
    }

    /// <summary>Takes the sequence out of the batch and frees its cache and budget; false when it was already gone.</summary>
    private bool Release(RunningSequence sequence)
    {
        lock (gate)
        {
            if (!running.Remove(sequence))
            {
                return false;
            }

            reservedPositions -= sequence.ReservedPositions;
        }

        sequence.Dispose();
        return true;
    }
}
