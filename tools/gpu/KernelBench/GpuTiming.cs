using System.Diagnostics;
using ILGPU.Runtime;

namespace KernelSharp.Tools.KernelBench;

/// <summary>
/// Times device work from the host: a warm-up call (compilation, autotuning, first touch), then samples of several
/// back-to-back launches between two synchronizations; the median sample over the launch count is the time of one
/// launch. <paramref name="launch"/> gets a running counter so callers can rotate among input copies (inputs that
/// fit in the 50 MB L2 would otherwise be timed from cache).
/// </summary>
public static class GpuTiming
{
    public static double MedianMilliseconds(Accelerator accelerator, Action<int> launch, int launchesPerSample = 10, int samples = 7)
    {
        launch(0);
        accelerator.Synchronize();
        var perLaunch = new List<double>();
        int counter = 1;
        for (int s = 0; s < samples; s++)
        {
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < launchesPerSample; i++)
                launch(counter++);
            accelerator.Synchronize();
            perLaunch.Add(watch.Elapsed.TotalMilliseconds / launchesPerSample);
        }
        perLaunch.Sort();
        return perLaunch[perLaunch.Count / 2];
    }

    /// <summary>How many copies of an input of <paramref name="bytes"/> bytes to rotate among so consecutive launches miss in L2 (at least 256 MB in all).</summary>
    public static int CopiesToDefeatCache(long bytes) => (int)Math.Clamp((256L << 20) / Math.Max(1, bytes) + 1, 1, 16);
}
