using System.Diagnostics;
using System.Globalization;
using KernelSharp.Runtime.Model;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// How long the model took to become ready: reading the weights onto the device, then one warm-up pass that compiles
/// the prefill and decode kernels. The warm-up is timed apart so the first prompt's t/s measures the prompt, not
/// kernel compilation (llama.cpp does the same warm-up run before its timings start).
/// </summary>
public sealed record ModelLoadTimes(TimeSpan Load, TimeSpan WarmUp)
{
    public string ToLine() => string.Create(CultureInfo.InvariantCulture,
        $"load: {Load.TotalSeconds:F2} s (warm-up {WarmUp.TotalSeconds:F2} s)");

    /// <summary>Loads the weights and times it; the caller creates the session and calls <see cref="WarmUpAndTime"/>.</summary>
    public static DeepSeekModel LoadTimed(ModelFolder folder, DevicePlacement placement, int contextSize, CliContext context, PrefillMatmul? prefill, KvCacheFormat kvCache,
        out TimeSpan loadTime)
    {
        var clock = Stopwatch.StartNew();
        DeepSeekModel model = folder.LoadModel(placement, contextSize, context, prefill, kvCache);
        loadTime = clock.Elapsed;
        return model;
    }

    /// <summary>
    /// Runs a two-token prefill and one decode step (the two code paths generation uses), then empties the cache.
    /// Token 0 exists in every vocabulary; its logits are thrown away. Needs a context of at least 3.
    /// </summary>
    public static ModelLoadTimes WarmUpAndTime(InferenceSession session, TimeSpan loadTime)
    {
        var clock = Stopwatch.StartNew();
        if (session.MaxContext >= 3)
        {
            session.PrefillLast([0, 0]);
            session.Decode(0);
        }
        session.Reset();
        return new ModelLoadTimes(loadTime, clock.Elapsed);
    }
}
