// The generated CPU path's decode GEMV (GemvKernels.LaunchGemv on FastCpu, bf16 weights, one vector) at the shapes of
// a small model's decode step, against the same rows on one thread (the format's RowDotCpu through ILGPU views) and a
// plain span loop (Direct.cs, the Bf16Dot loop without views). Each shape twice; the second pass is warm.
// Build and run from the repository root: dotnet run -c Release --project docs/perf/raw/2026-12-06-cpu-gemv-probe
using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;

using var device = KernelDevice.Create(KernelBackend.FastCpu);
foreach (var (rows, cols) in new[] { (1024, 1024), (512, 1024), (1024, 512), (3072, 1024), (32000, 1024), (1024, 1024), (512, 1024), (1024, 512), (3072, 1024), (32000, 1024) })
{
    var rnd = new Random(1);
    var bits = new ushort[(long)rows * cols];
    for (long i = 0; i < bits.Length; i++) bits[i] = (ushort)(0x3C00 + rnd.Next(256));
    using var w = device.Allocate<ushort>(bits.Length); w.View.CopyFromCPU(bits);
    using var x = device.Allocate<float>(cols); x.View.CopyFromCPU(Enumerable.Range(0, cols).Select(i => (float)rnd.NextDouble()).ToArray());
    using var y = device.Allocate<float>(rows);
    var weights = new Bf16Rows(w.View);
    int reps = Math.Max(20, 200_000_000 / (rows * cols));
    for (int i = 0; i < 5; i++) GemvKernels.LaunchGemv(device, weights, x.View, y.View, rows, cols, 1);
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < reps; i++) GemvKernels.LaunchGemv(device, weights, x.View, y.View, rows, cols, 1);
    double launch = clock.Elapsed.TotalMilliseconds / reps;
    // the same launches with 100 µs of serial work on the caller between them (as a decode step's small kernels)
    double gapped = 0;
    for (int i = 0; i < reps; i++)
    {
        var spin = Stopwatch.StartNew();
        while (spin.Elapsed.TotalMicroseconds < 100) { }
        var one = Stopwatch.StartNew();
        GemvKernels.LaunchGemv(device, weights, x.View, y.View, rows, cols, 1);
        gapped += one.Elapsed.TotalMilliseconds;
    }
    gapped /= reps;
    // the same rows on one thread, no grid: the format's own dot
    clock.Restart();
    for (int i = 0; i < reps; i++)
        for (int r = 0; r < rows; r++) y.View[r] = weights.RowDotCpu(r, cols, x.View, 0);
    double serial = clock.Elapsed.TotalMilliseconds / reps;
    double bytes = 2.0 * rows * cols;
    var xs = Enumerable.Range(0, cols).Select(i => (float)i).ToArray();
    var ys = new float[rows];
    clock.Restart();
    for (int i = 0; i < reps; i++)
        for (int r = 0; r < rows; r++) ys[r] = Direct.Dot(bits.AsSpan(r * cols, cols), xs);
    double direct = clock.Elapsed.TotalMilliseconds / reps;
    Console.Write($"[direct one-thread {direct:F3} ms = {bytes / direct / 1e6:F1} GB/s] ");
    Console.WriteLine($"{rows}x{cols}: launch {launch:F3} ms ({bytes / launch / 1e6:F1} GB/s), after a 100 µs gap {gapped:F3} ms, one-thread loop {serial:F3} ms ({bytes / serial / 1e6:F1} GB/s)");
}
