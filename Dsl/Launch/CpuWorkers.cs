using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// The host threads that run a grid's groups beside the launching thread: created once, kept spinning for a while after
/// each grid so the next launch finds them awake, then asleep until one comes.
/// </summary>
/// <remarks>
/// Why not the thread pool: a decode step launches a few hundred kernels, each 20–150 µs of work, with serial work in
/// between; pool threads that went to sleep between launches cost a wake-up per launch. Measured on 2 cores (a bf16
/// model's decode, 140 GEMV launches a token): 49 tokens/s with the pool as it comes, 62–65 with its workers told to spin
/// longer (<c>DOTNET_ThreadPool_UnfairSemaphoreSpinLimit</c>), which only a process's own configuration can do. These
/// workers spin for <see cref="SpinTime"/> after their last grid, so a decode keeps them awake and an idle process
/// does not. One grid at a time: a launch that finds them busy (another thread's grid, or a launch from inside a group)
/// gets <c>null</c> from <see cref="TryRun"/> and runs its own way.
/// </remarks>
internal sealed class CpuWorkers
{
    /// <summary>How long a worker keeps looking for the next grid before it sleeps.</summary>
    private static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(2);

    private static readonly object creation = new();
    private static CpuWorkers? shared;

    private readonly object sleepGate = new();
    private Job? current;
    private int generation;
    private int sleepers;
    private int busy;

    private CpuWorkers(int workers)
    {
        Workers = workers;
        for (int i = 0; i < workers; i++)
            new Thread(Work) { IsBackground = true, Name = $"KernelSharp CPU grid {i + 1}" }.Start();
    }

    /// <summary>Threads besides the launching one.</summary>
    public int Workers { get; }

    /// <summary>The process's workers for <paramref name="threads"/> threads in all (the launching one included).</summary>
    public static CpuWorkers For(int threads)
    {
        var workers = Volatile.Read(ref shared);
        if (workers is not null && workers.Workers == threads - 1)
            return workers;
        lock (creation)
        {
            // Two first launches at once make one set. A changed thread limit gets a new set; the old one's threads
            // sleep for good (background threads: the CLI sets the limit once, before the first launch).
            if (shared is null || shared.Workers != threads - 1)
                Volatile.Write(ref shared, new CpuWorkers(threads - 1));
            return shared;
        }
    }

    /// <summary>
    /// Runs <paramref name="group"/>(g % gridX, g / gridX) for g in [0, count) in chunks of <paramref name="chunk"/>
    /// on the caller and the workers; returns the timestamp ticks spent inside the chunks (summed over threads), or null
    /// when the workers are busy with another grid. The first exception of a group is rethrown as itself.
    /// </summary>
    public long? TryRun(int gridX, long count, long chunk, Action<int, int> group)
    {
        if (Interlocked.CompareExchange(ref busy, 1, 0) != 0)
            return null;
        try
        {
            var job = new Job(gridX, count, chunk, group);
            Volatile.Write(ref current, job);
            Interlocked.Increment(ref generation);
            if (Volatile.Read(ref sleepers) > 0)
            {
                lock (sleepGate)
                    Monitor.PulseAll(sleepGate);
            }

            job.Run();
            // Every chunk is claimed; wait for the workers still inside one.
            var wait = new SpinWait();
            while (Volatile.Read(ref job.Active) > 0)
                wait.SpinOnce(sleep1Threshold: -1);
            Volatile.Write(ref current, null);
            job.Failure?.Throw();
            return job.WorkTicks;
        }
        finally
        {
            Volatile.Write(ref busy, 0);
        }
    }

    private void Work()
    {
        int seen = 0;
        while (true)
        {
            long spinStart = Stopwatch.GetTimestamp();
            var wait = new SpinWait();
            while (Volatile.Read(ref generation) == seen)
            {
                if (Stopwatch.GetElapsedTime(spinStart) < SpinTime)
                {
                    wait.SpinOnce(sleep1Threshold: -1);
                    continue;
                }

                // Asleep until the next grid: counted first, so a launcher that publishes after this sees a sleeper and
                // pulses; one that published before is seen by the generation check under the lock.
                Interlocked.Increment(ref sleepers);
                lock (sleepGate)
                {
                    while (Volatile.Read(ref generation) == seen)
                        Monitor.Wait(sleepGate);
                }

                Interlocked.Decrement(ref sleepers);
            }

            seen = Volatile.Read(ref generation);
            var job = Volatile.Read(ref current);
            if (job is null)
                continue;
            // Counted as active before claiming: the launcher returns only when every chunk is claimed and no worker is
            // active, so a worker that arrives late finds nothing left to claim.
            Interlocked.Increment(ref job.Active);
            job.Run();
            Interlocked.Decrement(ref job.Active);
        }
    }

    private sealed class Job(int gridX, long count, long chunk, Action<int, int> group)
    {
        public int Active;
        public long WorkTicks;
        public ExceptionDispatchInfo? Failure;
        private long next;

        public void Run()
        {
            while (true)
            {
                long start = Interlocked.Add(ref next, chunk) - chunk;
                if (start >= count)
                    return;
                long end = Math.Min(count, start + chunk);
                long chunkStart = Stopwatch.GetTimestamp();
                try
                {
                    for (long g = start; g < end; g++)
                        group((int)(g % gridX), (int)(g / gridX));
                }
                catch (Exception e)
                {
                    // The first failure wins; the rest of the grid is skipped.
                    Interlocked.CompareExchange(ref Failure, ExceptionDispatchInfo.Capture(e), null);
                    Interlocked.Exchange(ref next, count);
                    return;
                }
                finally
                {
                    Interlocked.Add(ref WorkTicks, Stopwatch.GetTimestamp() - chunkStart);
                }
            }
        }
    }
}
