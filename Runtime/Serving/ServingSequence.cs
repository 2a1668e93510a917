using System.Threading.Channels;
using KernelSharp.Runtime.Generation;

namespace KernelSharp.Runtime.Serving;

/// <summary>
/// A submitted request as its caller sees it: the text as it is generated, the final result, and a way to cancel.
/// Cancelling (or the token given to <see cref="ServingEngine.Submit"/>) ends the sequence at the next step boundary
/// and frees its cache at once; the result then says <see cref="FinishReason.Cancelled"/>.
/// </summary>
public sealed class ServingSequence
{
    private readonly Channel<string> text = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<GenerationResult> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource cancellation;
    private readonly Action wakeEngine;

    internal ServingSequence(ServingRequest request, CancellationToken callerToken, Action wakeEngine)
    {
        Request = request;
        this.wakeEngine = wakeEngine;
        cancellation = CancellationTokenSource.CreateLinkedTokenSource(callerToken);
        cancellation.Token.Register(wakeEngine);
    }

    public ServingRequest Request { get; }

    /// <summary>Text pieces as soon as they are final (stop sequences held back and cut); completes when the sequence ends.</summary>
    public ChannelReader<string> Text => text.Reader;

    /// <summary>The whole text, token ids, finish reason and timings; faults only when the model itself failed.</summary>
    public Task<GenerationResult> Completion => completion.Task;

    /// <summary>Tokens generated so far (read by the server for usage while streaming).</summary>
    public int GeneratedTokens => Volatile.Read(ref generatedTokens);

    internal int generatedTokens;

    internal bool IsCancellationRequested => cancellation.IsCancellationRequested;

    /// <summary>Ends the sequence at the next step and frees its cache.</summary>
    public void Cancel()
    {
        try
        {
            cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // already finished: nothing left to cancel
        }

        wakeEngine();
    }

    internal void Write(string piece)
    {
        if (piece.Length > 0)
        {
            text.Writer.TryWrite(piece);
        }
    }

    internal void Complete(GenerationResult result)
    {
        text.Writer.TryComplete();
        completion.TrySetResult(result);
        cancellation.Dispose();
    }

    internal void Fail(Exception error)
    {
        text.Writer.TryComplete(error);
        completion.TrySetException(error);
        cancellation.Dispose();
    }
}
