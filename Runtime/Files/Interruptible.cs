using System.Runtime.ExceptionServices;

namespace KernelSharp.Runtime;

/// <summary>
/// Runs a file operation that may block without end (a read of stdin nobody writes to, the open of a FIFO nobody opens
/// from the other side) where cancellation (Ctrl-C) can still end the wait: the operation runs on a pool thread and the
/// caller waits for it or for the token, whichever comes first. On cancellation the operation is abandoned (the process
/// is about to end) and <see cref="OperationCanceledException"/> is thrown; its own exception is rethrown as it was.
/// </summary>
public static class Interruptible
{
    public static T Wait<T>(Func<T> blocking, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        Task<T> running = Task.Run(blocking);
        try
        {
            running.Wait(cancellation);
        }
        catch (AggregateException failed) when (failed.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(failed.InnerException).Throw();
        }

        return running.Result;
    }
}
