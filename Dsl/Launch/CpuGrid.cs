using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// Runs the groups of a generated CPU path in parallel. Groups are independent by the GPU programming model, so any
/// order is valid; chunked ranges keep the per-group scheduling cost small when groups are tiny.
/// </summary>
/// <remarks>
/// Handing work to pool threads and waiting for them costs tens of microseconds (much more when other processes
/// keep the cores busy), and a decode step launches a few hundred kernels, many of them tiny (a SwiGLU of one row,
/// an expert combine). So each launch site remembers how long its groups took, and a grid whose whole work is
/// estimated below <see cref="SerialWorkLimit"/> runs on the calling thread, as the CPU backend's loops do below
/// their work limit (64k multiply-adds, a similar time). A site's first launch runs serially to measure it; serial
/// runs measure the whole grid, parallel runs the time inside their chunks, so a site whose work grows (attention as
/// the context fills) moves to the pool, and one that shrinks comes back.
/// </remarks>
public static class CpuGrid
{
    /// <summary>Estimated single-thread time of a whole grid below which it runs on the calling thread.</summary>
    public static readonly TimeSpan SerialWorkLimit = TimeSpan.FromMicroseconds(20);

    private static int threadLimit = Environment.ProcessorCount;

    /// <summary>
    /// How many host threads a grid may use (llama.cpp's <c>-t</c>): 1 … any, default every core; grids never use more
    /// threads than the machine has cores (their workers spin between launches, so extra ones would only take turns).
    /// Process-wide on purpose: launches are static and one process runs one command.
    /// </summary>
    public static int ThreadLimit
    {
        get => threadLimit;
        set => threadLimit = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "at least one thread");
    }

    /// <summary>Host threads a grid runs on: <see cref="ThreadLimit"/>, at most the machine's cores.</summary>
    public static int Threads => Math.Min(Environment.ProcessorCount, threadLimit);

    /// <summary>Per launch site (the group delegate's method): estimated single-thread seconds per group.</summary>
    private static readonly ConcurrentDictionary<MethodInfo, double> secondsPerGroup = new();

    /// <summary>Calls <paramref name="group"/>(x, y) for every group of a <paramref name="gridX"/> × <paramref name="gridY"/> grid.</summary>
    public static void For(int gridX, int gridY, Action<int, int> group)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (gridX < 0 || gridY < 0)
            throw new ArgumentOutOfRangeException(nameof(gridX), $"grid {gridX}×{gridY} must not be negative");
        long count = (long)gridX * gridY;
        if (count == 0)
            return;
        if (count == 1)
        {
            group(0, 0);
            return;
        }
        int threads = Threads;
        var site = group.Method;
        bool known = secondsPerGroup.TryGetValue(site, out double perGroup);
        long start = Stopwatch.GetTimestamp();
        if (threads == 1 || !known || perGroup * count < SerialWorkLimit.TotalSeconds)
        {
            for (long g = 0; g < count; g++)
                group((int)(g % gridX), (int)(g / gridX));
            secondsPerGroup[site] = Stopwatch.GetElapsedTime(start).TotalSeconds / count;
            return;
        }
        // The time spent inside the chunks, summed over threads, is the work without the hand-off cost.
        long workTicks = RunParallel(gridX, count, threads, group);
        secondsPerGroup[site] = (double)workTicks / Stopwatch.Frequency / count;
    }

    /// <summary>Runs every group on the pool; returns the timestamp ticks spent inside the chunks, summed over threads.</summary>
    private static long RunParallel(int gridX, long count, int threads, Action<int, int> group)
    {
        long workTicks = 0;
        // About four chunks per core balances uneven groups without paying a task per group.
        long chunk = Math.Max(1, count / (threads * 4L));
        if (CpuWorkers.For(threads).TryRun(gridX, count, chunk, group) is long ticks)
            return ticks;
        // The workers are running another grid (a launch from another thread, or from inside a group): the thread pool.
        try
        {
            Parallel.ForEach(Partitioner.Create(0L, count, chunk), new ParallelOptions { MaxDegreeOfParallelism = threads }, range =>
            {
                long chunkStart = Stopwatch.GetTimestamp();
                for (long g = range.Item1; g < range.Item2; g++)
                    group((int)(g % gridX), (int)(g / gridX));
                Interlocked.Add(ref workTicks, Stopwatch.GetTimestamp() - chunkStart);
            });
        }
        catch (AggregateException failure) when (failure.InnerExceptions.Count > 0)
        {
            // A kernel's own exception (a Debug bounds check) reaches the caller as itself, as it does with one group;
            // other groups failing the same way add nothing.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure.InnerExceptions[0]).Throw();
        }
        return workTicks;
    }
}
