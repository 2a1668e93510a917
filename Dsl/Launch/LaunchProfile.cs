using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// A coarse per-kernel time profile for finding where a model step spends its time on a GPU without a profiler
/// (the GPU machine has no Nsight Systems). Enabled for the whole process by <c>KS_PROFILE=1</c>: every generated
/// launch then synchronizes the device first, so the wall time between two launches — the previous kernel's run on the
/// device plus the host work that followed it (allocations, downloads, launch overhead) — is charged to the previous
/// kernel. Synchronizing after every launch removes the overlap of host and device, so totals are slower than an
/// unprofiled run: use the shares, not the sum.
/// </summary>
public sealed class LaunchProfile
{
    private readonly Dictionary<string, (int Count, double Seconds)> entries = new(StringComparer.Ordinal);
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private string? previous;
    private double previousStart;
    private bool paused;

    /// <summary>The process-wide profile when <c>KS_PROFILE=1</c> is set, else null (no cost).</summary>
    public static LaunchProfile? Current { get; } =
        Environment.GetEnvironmentVariable("KS_PROFILE") == "1" ? new LaunchProfile() : null;

    /// <summary>Called by <see cref="KernelDevice.GetOrLoadKernel{TKernel}"/> before a launch of <paramref name="kernel"/>.</summary>
    internal void BeforeLaunch(KernelDevice device, string kernel)
    {
        if (paused)
            return;
        device.Accelerator.Synchronize();
        var now = clock.Elapsed.TotalSeconds;
        lock (entries)
        {
            Charge(now);
            previous = Variantless(kernel);
            previousStart = now;
        }
    }

    /// <summary>Charges the time since the last launch to it: call at the end of a measured region, after the device is idle.</summary>
    public void Flush()
    {
        lock (entries)
        {
            Charge(clock.Elapsed.TotalSeconds);
            previous = null;
        }
    }

    /// <summary>Stops charging launches (setup work that should not count), after charging the last one.</summary>
    public void Pause()
    {
        Flush();
        paused = true;
    }

    /// <summary>Charges launches again.</summary>
    public void Resume() => paused = false;

    public void Reset()
    {
        lock (entries)
        {
            entries.Clear();
            previous = null;
        }
    }

    /// <summary>A markdown table, slowest kernel first: launches and milliseconds per <paramref name="steps"/> (e.g. tokens).</summary>
    public string Format(int steps, int top = 30)
    {
        List<KeyValuePair<string, (int Count, double Seconds)>> rows;
        lock (entries)
        {
            rows = [.. entries.OrderByDescending(e => e.Value.Seconds)];
        }

        double total = rows.Sum(r => r.Value.Seconds);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"launch profile (KS_PROFILE=1, synchronized launches), per step of {steps}:");
        text.AppendLine("| kernel | launches/step | ms/step | share |");
        text.AppendLine("| --- | ---: | ---: | ---: |");
        foreach (var (name, (count, seconds)) in rows.Take(top))
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {(double)count / steps:0.#} | {seconds * 1e3 / steps:0.###} | {seconds / Math.Max(total, 1e-12):P1} |");
        }

        text.AppendLine(CultureInfo.InvariantCulture,
            $"| all ({rows.Count} kernels) | {rows.Sum(r => (double)r.Value.Count) / steps:0.#} | {total * 1e3 / steps:0.###} | 100% |");
        return text.ToString();
    }

    private void Charge(double now)
    {
        if (previous is null)
            return;
        entries.TryGetValue(previous, out var entry);
        entries[previous] = (entry.Count + 1, entry.Seconds + (now - previousStart));
    }

    // "Namespace.Class.Kernel__groupSize128" → "Class.Kernel": variants of one kernel share a row.
    private static string Variantless(string key)
    {
        var cut = key.IndexOf("__", StringComparison.Ordinal);
        var name = cut < 0 ? key : key[..cut];
        var dots = name.Split('.');
        return dots.Length >= 2 ? $"{dots[^2]}.{dots[^1]}" : name;
    }
}
