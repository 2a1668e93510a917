using System.Runtime.ExceptionServices;

namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// Runs a step on every rank of a group at once: rank 0 on the calling thread, every other rank on a thread of its own
/// that lives as long as this object (a step is milliseconds; starting threads per step would cost a visible share).
/// Every rank must reach the same collectives, so they run concurrently; when one fails, <c>abort</c> makes the
/// others leave the collective they wait in, and the failure that came first (the cause, not the aborts it caused) is
/// rethrown.
/// </summary>
internal sealed class RankThreads : IDisposable
{
    private readonly Worker[] workers;

    public RankThreads(int ranks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ranks, 1);
        workers = Enumerable.Range(1, ranks - 1).Select(rank => new Worker(rank)).ToArray();
    }

    public int Ranks => workers.Length + 1;

    /// <summary><paramref name="step"/>(rank) on every rank at once; inline on the caller where there is one rank (no threads).</summary>
    public static T[] OnEvery<T>(RankThreads? threads, Func<int, T> step, Action abort) =>
        threads is null ? [step(0)] : threads.Run(step, abort);

    /// <summary>step(rank) on every rank at once; the results by rank.</summary>
    public T[] Run<T>(Func<int, T> step, Action abort)
    {
        var results = new T[Ranks];
        var failures = new (long Order, Exception Error)?[Ranks];
        long order = 0;
        void RunRank(int rank)
        {
            try
            {
                results[rank] = step(rank);
            }
            catch (Exception e)
            {
                failures[rank] = (Interlocked.Increment(ref order), e);
                abort();
            }
        }

        foreach (var worker in workers)
        {
            worker.Start(RunRank);
        }

        RunRank(0);
        foreach (var worker in workers)
        {
            worker.WaitDone();
        }

        var first = failures.Where(f => f is not null).OrderBy(f => f!.Value.Order).FirstOrDefault();
        if (first is { } cause)
        {
            ExceptionDispatchInfo.Capture(cause.Error).Throw();
        }

        return results;
    }

    public void Dispose()
    {
        foreach (var worker in workers)
        {
            worker.Stop();
        }
    }

    private sealed class Worker
    {
        private readonly int rank;
        private readonly SemaphoreSlim go = new(0);
        private readonly ManualResetEventSlim done = new(false);
        private Action<int>? work;
        private volatile bool stopping;

        public Worker(int rank)
        {
            this.rank = rank;
            new Thread(Loop) { IsBackground = true, Name = $"kernelsharp rank {rank}" }.Start();
        }

        public void Start(Action<int> runRank)
        {
            done.Reset();
            work = runRank;
            go.Release();
        }

        public void WaitDone() => done.Wait();

        public void Stop()
        {
            stopping = true;
            go.Release();
        }

        private void Loop()
        {
            while (true)
            {
                go.Wait();
                if (stopping)
                {
                    return;
                }

                work!(rank); // never throws: the step's failures are recorded by the caller's wrapper
                done.Set();
            }
        }
    }
}
