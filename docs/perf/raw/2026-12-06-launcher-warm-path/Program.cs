// Warm-launch cost of generated launchers on the fast CPU path: a tiny bf16 GEMV (the CPU decode GEMV, two candidates) and a
// one-candidate fill, each launched many times after a first launch; median ns per launch over samples, and the bytes
// allocated per launch on all threads.
using System.Diagnostics;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Tensors;

Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE", Path.Combine(Path.GetTempPath(), "lbench-" + Guid.NewGuid().ToString("N") + ".json"));
using var device = KernelDevice.Create(KernelBackend.FastCpu);
const int rows = 8, cols = 64;
using var w = device.Allocate<ushort>(rows * cols);
using var x = device.Allocate<float>(cols);
using var y = device.Allocate<float>(rows);
using var ints = device.Allocate<int>(16);
var weights = new Bf16Rows(w.View);
void Gemv() => GemvKernels.LaunchGemv(device, weights, x.View, y.View, rows, cols, 1);
void Fill() => TensorKernels.LaunchFillInt(device, ints.View, 0, 16);
foreach (var (name, launch) in new (string, Action)[] { ("Gemv<Bf16Rows> 8x64", Gemv), ("FillInt 16", Fill) })
{
    launch(); // compile / tune
    for (int i = 0; i < 2000; i++) launch();
    var perLaunch = new List<double>();
    long bytes = 0; int launches = 0;
    for (int s = 0; s < 15; s++)
    {
        long b0 = GC.GetTotalAllocatedBytes(true);
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < 2000; i++) launch();
        perLaunch.Add(Stopwatch.GetElapsedTime(t0).TotalNanoseconds / 2000);
        bytes += GC.GetTotalAllocatedBytes(true) - b0; launches += 2000;
    }
    perLaunch.Sort();
    Console.WriteLine($"{name}: median {perLaunch[7]:F0} ns/launch (min {perLaunch[0]:F0}), {(double)bytes / launches:F0} bytes allocated/launch");
}
