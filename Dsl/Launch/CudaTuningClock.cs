using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// Times one launch at a time on a CUDA device for <see cref="KernelAutotuner"/>: a driver event before and after the
/// launch on the device's stream (<see cref="KernelDevice.Stream"/>), right behind a kernel that reads a buffer twice the size of L2.
/// </summary>
/// <remarks>
/// Why not a host stopwatch around launch + synchronize (the autotuner's timer elsewhere): for a decode GEMV of ~10 µs
/// the launch and the synchronization cost as much as the kernel and vary from run to run, so the five timed runs ranked
/// the variants by noise (on an H100 the pick for one shape changed from run to run, one pick 11–13% slower), and the
/// inputs stayed in L2 between the runs (a 2048×7168 bf16 weight is 29 MB of the H100's 50 MB), which is not how a
/// model step reads them: by a layer's turn the other layers' weights have gone through L2. The eviction kernel fixes
/// both: the candidate starts from a cold L2, and while the eviction runs (tens of µs) the host queues the event and
/// the launch behind it, so the events time the kernel alone.
/// </remarks>
internal sealed partial class CudaTuningClock : IDisposable
{
    private const string Driver = "libcuda.so.1";

    private static readonly ConditionalWeakTable<Accelerator, Action<AcceleratorStream, Index1D, ArrayView<long>, ArrayView<long>>> Evictors = new();

    private readonly KernelDevice device;
    private readonly nint stream;
    private readonly nint[] starts;
    private readonly nint[] ends;
    private readonly MemoryBuffer1D<long, Stride1D.Dense>? evictBuffer;
    private readonly MemoryBuffer1D<long, Stride1D.Dense>? sink;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<long>, ArrayView<long>>? evict;

    private CudaTuningClock(KernelDevice device, nint stream, int runs)
    {
        this.device = device;
        this.stream = stream;
        starts = new nint[runs];
        ends = new nint[runs];
        for (int i = 0; i < runs; i++)
        {
            Check(cuEventCreate(out starts[i], 0), "cuEventCreate");
            Check(cuEventCreate(out ends[i], 0), "cuEventCreate");
        }

        var accelerator = device.Accelerator;
        long l2 = accelerator.Device is CudaDevice cuda && cuda.L2CacheSize > 0 ? cuda.L2CacheSize : 64L << 20;
        try
        {
            evictBuffer = accelerator.Allocate1D<long>(2 * l2 / sizeof(long));
            sink = accelerator.Allocate1D<long>(1);
            evict = Evictors.GetValue(accelerator, a => a.LoadAutoGroupedKernel<Index1D, ArrayView<long>, ArrayView<long>>(Evict));
        }
        catch (Exception e) when (e is OutOfMemoryException or AcceleratorException or InvalidOperationException)
        {
            // No room for the buffer (a model already holds the memory): the runs are still timed by events, from a warm L2.
            evictBuffer?.Dispose();
            sink?.Dispose();
            evictBuffer = null;
            sink = null;
            evict = null;
        }
    }

    /// <summary>A clock for <paramref name="runs"/> timed runs, or null off CUDA or when the driver's events are unavailable.</summary>
    public static CudaTuningClock? TryCreate(KernelDevice device, int runs)
    {
        if (device.Accelerator is not CudaAccelerator cuda)
            return null;
        try
        {
            device.Bind();
            return new CudaTuningClock(device, ((CudaStream)device.Stream).StreamPtr, runs);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Timed run <paramref name="run"/>: evicts L2, then launches with <paramref name="launch"/> between two events.</summary>
    public void Time(int run, Action launch)
    {
        if (evict is not null)
            evict(device.Stream, (int)evictBuffer!.Length, evictBuffer.View, sink!.View);
        Check(cuEventRecord(starts[run], stream), "cuEventRecord");
        launch();
        Check(cuEventRecord(ends[run], stream), "cuEventRecord");
    }

    /// <summary>Milliseconds of timed run <paramref name="run"/> (waits for it).</summary>
    public double Milliseconds(int run)
    {
        Check(cuEventSynchronize(ends[run]), "cuEventSynchronize");
        Check(cuEventElapsedTime(out float ms, starts[run], ends[run]), "cuEventElapsedTime");
        return ms;
    }

    public void Dispose()
    {
        device.Bind();
        foreach (var handle in starts.Concat(ends))
        {
            if (handle != 0)
                cuEventDestroy_v2(handle); // nothing useful to do with a failure here
        }
        evictBuffer?.Dispose();
        sink?.Dispose();
    }

    /// <summary>Reads every element once; the store never happens in practice but keeps the loads from being removed.</summary>
    private static void Evict(Index1D i, ArrayView<long> data, ArrayView<long> sink)
    {
        long value = data[i];
        if (value == 0x5EED_5EED_5EED_5EED)
            sink[0] = value;
    }

    private static void Check(int result, string call)
    {
        if (result != 0)
            throw new InvalidOperationException($"CUDA driver: {call} failed with error {result}");
    }

    [LibraryImport(Driver)]
    private static partial int cuEventCreate(out nint handle, uint flags);

    [LibraryImport(Driver)]
    private static partial int cuEventRecord(nint handle, nint stream);

    [LibraryImport(Driver)]
    private static partial int cuEventSynchronize(nint handle);

    [LibraryImport(Driver)]
    private static partial int cuEventElapsedTime(out float milliseconds, nint start, nint end);

    [LibraryImport(Driver)]
    private static partial int cuEventDestroy_v2(nint handle);
}
