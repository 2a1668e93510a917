using ILGPU; using ILGPU.Runtime;
// gemm-probe: the Gemm CPU form before (row dots, as the kernel did) and after (GemmKernels.LaunchGemm on FastCpu), one process,
// alternating; a console project referencing KernelSharp.Kernels/.Dsl, ILGPU, ILGPU.Algorithms, System.Numerics.Tensors.
// usage: dotnet gemm-probe.dll N K M   (M tokens × N weight rows × K columns, bf16 weights)
using System.Diagnostics;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
int m = int.Parse(args[2]), n = int.Parse(args[0]), k = int.Parse(args[1]);
using var device = KernelDevice.Create(KernelBackend.FastCpu);
var r = new Random(1);
var a = Enumerable.Range(0, m * k).Select(_ => (float)r.NextDouble() - 0.5f).ToArray();
var w = Enumerable.Range(0, n * k).Select(_ => (ushort)(BitConverter.SingleToInt32Bits((float)r.NextDouble() - 0.5f) >> 16)).ToArray();
using var av = device.Allocate<float>(a.Length); av.View.CopyFromCPU(a);
using var wv = device.Allocate<ushort>(w.Length); wv.View.CopyFromCPU(w);
using var cv = device.Allocate<float>(m * n);
var weights = new Bf16Rows(wv.View);
// old form: row dots per output (what the kernel did before), on host threads the same way
void Old() => Parallel.For(0, (n + 63) / 64, tile => { for (int col = tile * 64; col < Math.Min(n, tile * 64 + 64); col++) for (int row = 0; row < m; row++) cv.View[(long)row * n + col] = weights.RowDotCpu(col, k, av.View, (long)row * k); });
void New() => GemmKernels.LaunchGemm(device, av.View, weights, cv.View, m, n, k);
foreach (var (name, f) in new (string, Action)[] { ("old", Old), ("new", New), ("old", Old), ("new", New), ("old", Old), ("new", New) })
{
    f();
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime; var sw = Stopwatch.StartNew();
    for (int i = 0; i < 20; i++) f();
    Console.WriteLine($"{name}: wall {sw.Elapsed.TotalMilliseconds / 20:F2} ms, cpu {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / 20:F2} ms per GEMM {m}x{n}x{k}");
}
var c1 = new float[m * n]; cv.View.CopyToCPU(c1); Old(); var c2 = new float[m * n]; cv.View.CopyToCPU(c2);
Console.WriteLine($"max |new-old| {c1.Zip(c2, (x, y) => Math.Abs(x - y)).Max()}");
