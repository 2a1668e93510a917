using System.Diagnostics;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace KernelSharp.Tools.KernelBench;

/// <summary>
/// Times device work: a warm-up call (compilation, autotuning, first touch), then samples of several back-to-back
/// launches; the median sample over the launch count is the time of one launch. <paramref name="launch"/> gets a
/// running counter so callers can rotate among input copies (inputs that fit in the 50 MB L2 would otherwise be timed
/// from cache).
/// On CUDA each sample is measured with driver events, and a short spin kernel runs first so the launches queue up
/// behind it: the events then time the kernels back to back, not the host's launch overhead (several µs per launch,
/// as long as a whole decode GEMV). Elsewhere (the CPU smoke run) a host stopwatch around the sample.
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
            double ms = accelerator is CudaAccelerator
                ? EventSample(accelerator, () => { for (int i = 0; i < launchesPerSample; i++) launch(counter++); })
                : StopwatchSample(accelerator, () => { for (int i = 0; i < launchesPerSample; i++) launch(counter++); });
            perLaunch.Add(ms / launchesPerSample);
        }
        perLaunch.Sort();
        return perLaunch[perLaunch.Count / 2];
    }

    /// <summary>How many copies of an input of <paramref name="bytes"/> bytes to rotate among so consecutive launches miss in L2 (at least 256 MB in all).</summary>
    public static int CopiesToDefeatCache(long bytes) => (int)Math.Clamp((256L << 20) / Math.Max(1, bytes) + 1, 1, 64);

    private static double StopwatchSample(Accelerator accelerator, Action launches)
    {
        var watch = Stopwatch.StartNew();
        launches();
        accelerator.Synchronize();
        return watch.Elapsed.TotalMilliseconds;
    }

    private static double EventSample(Accelerator accelerator, Action launches)
    {
        var stream = ((CudaStream)accelerator.DefaultStream).StreamPtr;
        Check(cuEventCreate(out var start, 0), "cuEventCreate");
        Check(cuEventCreate(out var end, 0), "cuEventCreate");
        try
        {
            var (spin, sink) = SpinFor(accelerator);
            spin(new KernelConfig(1, 32), sink.View, 400_000); // ~1 ms
            Check(cuEventRecord(start, stream), "cuEventRecord");
            launches();
            Check(cuEventRecord(end, stream), "cuEventRecord");
            Check(cuEventSynchronize(end), "cuEventSynchronize");
            Check(cuEventElapsedTime(out float ms, start, end), "cuEventElapsedTime");
            accelerator.Synchronize();
            return ms;
        }
        finally
        {
            cuEventDestroy_v2(start);
            cuEventDestroy_v2(end);
        }
    }

    private static (Accelerator Accelerator, Action<KernelConfig, ArrayView<int>, int> Kernel, MemoryBuffer1D<int, Stride1D.Dense> Sink)? spinState;

    /// <summary>The spin kernel and its output buffer, made once per accelerator (a compile or an allocation per sample would disturb the timing).</summary>
    private static (Action<KernelConfig, ArrayView<int>, int> Kernel, MemoryBuffer1D<int, Stride1D.Dense> Sink) SpinFor(Accelerator accelerator)
    {
        if (spinState is not { } state || state.Accelerator != accelerator)
        {
            spinState = state = (accelerator, accelerator.LoadStreamKernel<ArrayView<int>, int>(Spin), accelerator.Allocate1D<int>(32)); // sink [32]
        }
        return (state.Kernel, state.Sink);
    }

    /// <summary>Keeps one warp busy for a while (a dependent chain of integer operations), so later launches queue behind it.</summary>
    private static void Spin(ArrayView<int> sink, int iterations) // sink [32]
    {
        int x = Group.IdxX;
        for (int i = 0; i < iterations; i++)
            x = x * 1664525 + 1013904223;
        sink[Group.IdxX] = x;
    }

    private static void Check(int status, string call)
    {
        if (status != 0)
            throw new InvalidOperationException($"{call} failed with CUDA status {status}");
    }

    [DllImport("libcuda.so.1")]
    private static extern int cuEventCreate(out IntPtr eventHandle, uint flags);

    [DllImport("libcuda.so.1")]
    private static extern int cuEventRecord(IntPtr eventHandle, IntPtr stream);

    [DllImport("libcuda.so.1")]
    private static extern int cuEventSynchronize(IntPtr eventHandle);

    [DllImport("libcuda.so.1")]
    private static extern int cuEventElapsedTime(out float milliseconds, IntPtr start, IntPtr end);

    [DllImport("libcuda.so.1")]
    private static extern int cuEventDestroy_v2(IntPtr eventHandle);
}
