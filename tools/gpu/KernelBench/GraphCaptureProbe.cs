using System.Diagnostics;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace KernelSharp.Tools.KernelBench;

/// <summary>
/// The open question of decode as one graph replay: can ILGPU kernel launches be recorded with the driver's stream
/// capture and replayed as one CUDA graph, and what does that save on the host? A chain of tiny kernels (each adds a
/// step read from device memory to every element, as a decode kernel would read its position) runs three ways on the
/// same stream: launched one by one, captured once and replayed with the step rewritten outside the graph before each
/// replay, and — to see what the generated launchers' legacy default stream does to a capture — one launch on ILGPU's
/// default stream while another stream captures. Prints each step's driver status and timings; the last line starts
/// with RESULT.
/// </summary>
public static class GraphCaptureProbe
{
    private const int CaptureModeRelaxed = 2; // CU_STREAM_CAPTURE_MODE_RELAXED: other threads may allocate meanwhile
    private const int Elements = 4096;
    private const int Rounds = 7;

    [DllImport("libcuda.so.1")]
    private static extern int cuStreamBeginCapture_v2(IntPtr stream, int mode);

    [DllImport("libcuda.so.1")]
    private static extern int cuStreamEndCapture(IntPtr stream, out IntPtr graph);

    [DllImport("libcuda.so.1")]
    private static extern int cuGraphInstantiateWithFlags(out IntPtr graphExec, IntPtr graph, ulong flags);

    [DllImport("libcuda.so.1")]
    private static extern int cuGraphLaunch(IntPtr graphExec, IntPtr stream);

    [DllImport("libcuda.so.1")]
    private static extern int cuGraphGetNodes(IntPtr graph, IntPtr nodes, ref UIntPtr count);

    [DllImport("libcuda.so.1")]
    private static extern int cuGraphExecDestroy(IntPtr graphExec);

    [DllImport("libcuda.so.1")]
    private static extern int cuGraphDestroy(IntPtr graph);

    [DllImport("libcuda.so.1")]
    private static extern int cuStreamGetFlags(IntPtr stream, out uint flags);

    [DllImport("libcuda.so.1")]
    private static extern int cuStreamSynchronize(IntPtr stream);

    public static int Run(Accelerator accelerator, int launches)
    {
        if (accelerator is not CudaAccelerator cuda)
        {
            Console.WriteLine("RESULT graph_capture=unsupported (CUDA only)");
            return 1;
        }

        var bump = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<int>, ArrayView<int>>(Bump);
        using var stream = (CudaStream)cuda.CreateStream(StreamFlags.CU_STREAM_NON_BLOCKING);
        IntPtr handle = stream.StreamPtr;
        cuStreamGetFlags(handle, out uint flags);
        Console.WriteLine($"graph probe: {accelerator.Name}; stream {handle:X} flags {flags}; {launches} launches of a {Elements}-element kernel per chain");
        using var data = accelerator.Allocate1D<int>(Elements);
        using var step = accelerator.Allocate1D<int>(1);

        void Reset(int stepValue)
        {
            data.View.BaseView.MemSetToZero(stream);
            step.View.BaseView.CopyFromCPU(stream, [stepValue]);
            stream.Synchronize();
        }

        bool Holds(int expected, string what)
        {
            int[] values = data.GetAsArray1D();
            bool ok = values.All(v => v == expected);
            Console.WriteLine($"graph probe: {what}: every element {(ok ? "=" : "!=")} {expected} (first {values[0]})");
            return ok;
        }

        // 1. One by one: the host's cost per launch (host enqueue time) and the chain's time to completion.
        Reset(1);
        bump(stream, Elements, data.View, step.View); // compiles and loads the kernel
        stream.Synchronize();
        var enqueue = new List<double>();
        var total = new List<double>();
        bool ok = true;
        for (int round = 0; round < Rounds; round++)
        {
            Reset(1);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < launches; i++)
                bump(stream, Elements, data.View, step.View);
            enqueue.Add(clock.Elapsed.TotalMicroseconds);
            stream.Synchronize();
            total.Add(clock.Elapsed.TotalMicroseconds);
        }
        ok &= Holds(launches, "launched one by one");
        Console.WriteLine($"graph probe: one by one: host enqueue {Median(enqueue):F0} µs ({Median(enqueue) / launches:F2} µs per launch), to completion {Median(total):F0} µs (median of {Rounds})");

        // 2. Captured once, replayed: the step is rewritten outside the graph before each replay.
        Reset(1);
        int status = cuStreamBeginCapture_v2(handle, CaptureModeRelaxed);
        Console.WriteLine($"graph probe: cuStreamBeginCapture_v2 status {status}");
        string? launchError = null;
        try
        {
            for (int i = 0; i < launches; i++)
                bump(stream, Elements, data.View, step.View);
        }
        catch (Exception e)
        {
            launchError = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
        }
        int endStatus = cuStreamEndCapture(handle, out IntPtr graph);
        var nodes = UIntPtr.Zero;
        int nodeStatus = graph == IntPtr.Zero ? -1 : cuGraphGetNodes(graph, IntPtr.Zero, ref nodes);
        IntPtr exec = IntPtr.Zero;
        int instantiateStatus = graph == IntPtr.Zero ? -1 : cuGraphInstantiateWithFlags(out exec, graph, 0);
        Console.WriteLine($"graph probe: launches during capture: {launchError ?? "no error"}; cuStreamEndCapture {endStatus}; nodes {nodes} (status {nodeStatus}); cuGraphInstantiateWithFlags {instantiateStatus}");
        if (status != 0 || endStatus != 0 || instantiateStatus != 0 || launchError is not null)
        {
            Console.WriteLine($"RESULT graph_capture=failed (begin {status}, end {endStatus}, instantiate {instantiateStatus}, launch {launchError ?? "ok"})");
            return 1;
        }

        ok &= Holds(0, "after capture, nothing ran yet");
        const int replays = 5;
        for (int r = 1; r <= replays; r++)
        {
            step.View.BaseView.CopyFromCPU(stream, [r]);
            int launchStatus = cuGraphLaunch(exec, handle);
            if (launchStatus != 0)
                Console.WriteLine($"graph probe: cuGraphLaunch status {launchStatus}");
        }
        cuStreamSynchronize(handle);
        ok &= Holds(launches * replays * (replays + 1) / 2, $"{replays} replays with steps 1..{replays} written before each");

        var replayEnqueue = new List<double>();
        var replayTotal = new List<double>();
        for (int round = 0; round < Rounds; round++)
        {
            Reset(1);
            var clock = Stopwatch.StartNew();
            cuGraphLaunch(exec, handle);
            replayEnqueue.Add(clock.Elapsed.TotalMicroseconds);
            cuStreamSynchronize(handle);
            replayTotal.Add(clock.Elapsed.TotalMicroseconds);
        }
        ok &= Holds(launches, "one replay");
        Console.WriteLine($"graph probe: one replay: host enqueue {Median(replayEnqueue):F0} µs, to completion {Median(replayTotal):F0} µs " +
                          $"({Median(replayTotal) / launches:F2} µs per kernel; one by one {Median(total) / launches:F2})");
        cuGraphExecDestroy(exec);
        cuGraphDestroy(graph);

        // 3. A launch on ILGPU's default (legacy) stream while this stream captures, as a generated launcher would do.
        Reset(1);
        int legacyBegin = cuStreamBeginCapture_v2(handle, CaptureModeRelaxed);
        bump(stream, Elements, data.View, step.View);
        string legacy;
        try
        {
            bump(accelerator.DefaultStream, Elements, data.View, step.View);
            legacy = "no error at launch";
        }
        catch (Exception e)
        {
            legacy = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
        }
        int legacyEnd = cuStreamEndCapture(handle, out IntPtr legacyGraph);
        if (legacyGraph != IntPtr.Zero)
            cuGraphDestroy(legacyGraph);
        Console.WriteLine($"graph probe: default-stream launch during capture (begin {legacyBegin}): {legacy}; cuStreamEndCapture {legacyEnd}");
        try
        {
            Reset(1);
            bump(stream, Elements, data.View, step.View);
            stream.Synchronize();
            Console.WriteLine($"graph probe: context usable afterwards: {Holds(1, "one launch after the failed capture")}");
        }
        catch (Exception e)
        {
            Console.WriteLine($"graph probe: context unusable afterwards: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }

        Console.WriteLine($"RESULT graph_capture={(ok ? "works" : "wrong_result")} one_by_one_us_per_launch={Median(total) / launches:F2} " +
                          $"enqueue_us_per_launch={Median(enqueue) / launches:F2} replay_us_per_kernel={Median(replayTotal) / launches:F2} legacy_stream_end_status={legacyEnd}");
        return ok ? 0 : 1;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    /// <summary>data[i] += step[0]: a decode kernel's shape in miniature (its scalar read from device memory, not an argument).</summary>
    private static void Bump(Index1D i, ArrayView<int> data, ArrayView<int> step) // data [Elements], step [1]
    {
        data[i] += step[0];
    }
}
