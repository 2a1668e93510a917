using System.Diagnostics;
using System.Globalization;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// Picks, per (device, kernel, shape), the fastest of a kernel's candidate variants (one per combination of
/// <c>[Constant]</c> values): on first use it runs each candidate a few times, keeps the median time, and saves the
/// winner in <see cref="AutotuneStore"/>. On CUDA each run is timed on the device from a cold L2
/// (<see cref="CudaTuningClock"/>); elsewhere by the host around the launch and a synchronization. <c>KERNELSHARP_AUTOTUNE=0</c> turns tuning off: the first candidate (the
/// first listed constant values) is used.
/// </summary>
public static class KernelAutotuner
{
    /// <summary>Timed runs per candidate after one warm-up run (which also compiles it), host-timed (CPU, OpenCL).</summary>
    public const int Repetitions = 5;

    /// <summary>
    /// Timed runs per candidate on CUDA, each timed by driver events from a cold L2 (<see cref="CudaTuningClock"/>):
    /// a run costs the kernel plus an eviction pass (tens of µs), so more runs than on the host path are cheap, and a
    /// short kernel needs them: its time is a few event-timer ticks.
    /// </summary>
    public const int DeviceRepetitions = 15;

    private static long measurements;

    /// <summary>Choices measured so far in this process (each times every candidate): once warm, a step measures none.</summary>
    public static long Measurements => Interlocked.Read(ref measurements);

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
        if (!Tunes(device, candidates))
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

    /// <summary>
    /// The choice <see cref="Choose(KernelDevice, TuningSite, TuningShape, string, IReadOnlyList{string}, Action{int}, Func{ViewSnapshot}?)"/>
    /// made earlier for this site and shape on <paramref name="device"/>: the generated launchers' warm path, which neither
    /// allocates nor builds strings. False on a first launch (the launcher then calls that method), and while tuning is
    /// off (<see cref="Enabled"/>), as <see cref="Choose(KernelDevice, string, string, IReadOnlyList{string}, Action{int}, Func{ViewSnapshot}?)"/>
    /// keeps no choice then either.
    /// </summary>
    public static bool TryRecall(KernelDevice device, TuningSite site, TuningShape shape, out int choice)
    {
        choice = 0;
        return Enabled && device.Recalled.TryGetValue((site, shape), out choice);
    }

    /// <summary>
    /// <see cref="Choose(KernelDevice, string, string, IReadOnlyList{string}, Action{int}, Func{ViewSnapshot}?)"/> for
    /// <paramref name="site"/>'s kernel, remembering a kept choice for <see cref="TryRecall"/>.
    /// </summary>
    public static int Choose(KernelDevice device, TuningSite site, TuningShape shape, string shapeKey, IReadOnlyList<string> candidates,
        Action<int> run, Func<ViewSnapshot>? snapshot = null)
    {
        ArgumentNullException.ThrowIfNull(site);
        int choice = Choose(device, site.Kernel, shapeKey, candidates, run, snapshot);
        if (Tunes(device, candidates))
            device.Recalled[(site, shape)] = choice;
        return choice;
    }

    /// <summary>
    /// Whether a choice is made and kept: several candidates, tuning on, and not ILGPU's CPU accelerator (a debugging
    /// emulator: timing there would measure the emulator). Otherwise the first candidate runs and nothing is kept.
    /// </summary>
    private static bool Tunes(KernelDevice device, IReadOnlyList<string> candidates) =>
        candidates.Count > 1 && Enabled && device.Backend != KernelBackend.IlgpuCpu;

    /// <summary>The median of <paramref name="times"/> (sorted in place); for an even count, the mean of the middle two.</summary>
    private static double Median(double[] times)
    {
        Array.Sort(times);
        int middle = times.Length / 2;
        return times.Length % 2 == 1 ? times[middle] : (times[middle - 1] + times[middle]) / 2;
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
        Interlocked.Increment(ref measurements);
        using var snapshot = snapshotFactory?.Invoke();
        if (snapshot is { TooLarge: true })
            return 0;
        using var clock = CudaTuningClock.TryCreate(device, DeviceRepetitions);
        int best = -1;
        double bestMedian = double.PositiveInfinity;
        Exception? firstFailure = null;
        var times = new double[clock is null ? Repetitions : DeviceRepetitions];
        for (int c = 0; c < candidates.Count; c++)
        {
            try
            {
                snapshot?.Restore();
                run(c); // warm-up: compiles the variant and fills caches
                device.Synchronize();
                for (int r = 0; r < times.Length; r++)
                {
                    snapshot?.Restore();
                    if (clock is not null)
                    {
                        clock.Time(r, () => run(c));
                        continue;
                    }
                    long start = Stopwatch.GetTimestamp();
                    run(c);
                    device.Synchronize();
                    times[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }
                for (int r = 0; clock is not null && r < times.Length; r++)
                    times[r] = clock.Milliseconds(r);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A variant the device cannot run (too many registers, too much shared memory) is skipped.
                firstFailure ??= e;
                continue;
            }
            double median = Median(times);
            if (median < bestMedian)
            {
                bestMedian = median;
                best = c;
            }
        }
        snapshot?.Restore();
        if (best < 0)
            throw new InvalidOperationException($"Autotuning found no runnable variant among {string.Join(", ", candidates)}: {firstFailure?.Message}", firstFailure);
        Trace.WriteLine(string.Create(CultureInfo.InvariantCulture, $"kernelsharp autotune: {candidates[best]} ({bestMedian:F3} ms median, {(clock is null ? "host-timed" : "device events")})"));
        return best;
    }
}
