using System.Diagnostics;
using System.Globalization;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// Picks, per (device, kernel, shape), the fastest of a kernel's candidate variants (one per combination of
/// <c>[Constant]</c> values): on first use it runs each candidate a few times, keeps the median time, and saves the
/// winner in <see cref="AutotuneStore"/>. <c>KERNELSHARP_AUTOTUNE=0</c> turns tuning off: the first candidate (the
/// first listed constant values) is used.
/// </summary>
public static class KernelAutotuner
{
    /// <summary>Timed runs per candidate after one warm-up run (which also compiles it).</summary>
    public const int Repetitions = 5;

    /// <summary>False when the environment variable <c>KERNELSHARP_AUTOTUNE</c> is <c>0</c>.</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable("KERNELSHARP_AUTOTUNE") != "0";

    /// <summary>
    /// Returns the index of the candidate to run. <paramref name="run"/> launches candidate i on the caller's data;
    /// <paramref name="snapshot"/> (may be null) restores buffers the kernel reads and writes before each timed run.
    /// The caller runs the returned candidate itself afterwards.
    /// </summary>
    public static int Choose(KernelDevice device, string kernel, string shapeKey, IReadOnlyList<string> candidates,
        Action<int> run, Func<ViewSnapshot>? snapshot = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(run);
        if (candidates.Count <= 1 || !Enabled || device.Backend == KernelBackend.IlgpuCpu)
            return 0;
        string memoKey = kernel + "|" + shapeKey;
        if (device.Choices.TryGetValue(memoKey, out int known))
            return known;
        string storeKey = device.Name + "|" + memoKey;
        int choice = IndexOf(candidates, AutotuneStore.Shared.Get(storeKey));
        if (choice < 0)
        {
            choice = Measure(device, candidates, run, snapshot);
            AutotuneStore.Shared.Set(storeKey, candidates[choice]);
        }
        device.Choices[memoKey] = choice;
        return choice;
    }

    private static int IndexOf(IReadOnlyList<string> candidates, string? name)
    {
        for (int i = 0; name != null && i < candidates.Count; i++)
            if (candidates[i] == name)
                return i;
        return -1;
    }

    private static int Measure(KernelDevice device, IReadOnlyList<string> candidates, Action<int> run, Func<ViewSnapshot>? snapshotFactory)
    {
        using var snapshot = snapshotFactory?.Invoke();
        if (snapshot is { TooLarge: true })
            return 0;
        int best = -1;
        double bestMedian = double.PositiveInfinity;
        Exception? firstFailure = null;
        var times = new double[Repetitions];
        for (int c = 0; c < candidates.Count; c++)
        {
            try
            {
                snapshot?.Restore();
                run(c); // warm-up: compiles the variant and fills caches
                device.Synchronize();
                for (int r = 0; r < Repetitions; r++)
                {
                    snapshot?.Restore();
                    long start = Stopwatch.GetTimestamp();
                    run(c);
                    device.Synchronize();
                    times[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A variant the device cannot run (too many registers, too much shared memory) is skipped.
                firstFailure ??= e;
                continue;
            }
            Array.Sort(times);
            double median = times[Repetitions / 2];
            if (median < bestMedian)
            {
                bestMedian = median;
                best = c;
            }
        }
        snapshot?.Restore();
        if (best < 0)
            throw new InvalidOperationException($"Autotuning found no runnable variant among {string.Join(", ", candidates)}: {firstFailure?.Message}", firstFailure);
        Trace.WriteLine(string.Create(CultureInfo.InvariantCulture, $"kernelsharp autotune: {candidates[best]} ({bestMedian:F3} ms median)"));
        return best;
    }
}
