// The decode GEMV as a decode step meets it: the generated CPU path's launcher (GemvKernels.LaunchGemv on FastCpu, one
// vector) over many distinct matrices in rotation, ~640 MB of weights in all, so each launch reads its matrix from memory
// (a step reads each routed expert once). bf16 and FP8 (e4m3 with 128×128 block scales) at a small model's shapes;
// GB/s of stored weight bytes, after one warm pass over every matrix.
// Build and run from the repository root: dotnet run -c Release --project docs/perf/raw/2026-12-06-cpu-switch/cold-gemv-probe
using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;

using var device = KernelDevice.Create(KernelBackend.FastCpu);
var shapes = new[] { (1024, 512), (512, 1024), (1024, 1024), (3072, 1024) };
foreach (var (rows, cols) in shapes)
    Time("bf16", rows, cols, 2, (rng, count) =>
    {
        var bits = new ushort[(long)rows * cols];
        for (long i = 0; i < bits.Length; i++) bits[i] = (ushort)(0x3C00 + rng.Next(256));
        return Enumerable.Range(0, count).Select(_ =>
        {
            var b = device.Allocate<ushort>(bits.Length);
            b.View.CopyFromCPU(bits);
            return (new Bf16Rows(b.View), (IDisposable)b);
        }).ToList();
    });
foreach (var (rows, cols) in shapes)
    Time("fp8", rows, cols, 1, (rng, count) =>
    {
        // Normal codes of both signs, exponents 4–10: no NaN, no subnormal (a quantized checkpoint has few of either).
        var codes = new byte[(long)rows * cols];
        for (long i = 0; i < codes.Length; i++) codes[i] = (byte)((rng.Next(2) << 7) | (0x20 + rng.Next(0x38)));
        var scaleInv = Enumerable.Range(0, (rows + Fp8BlockRows.Block - 1) / Fp8BlockRows.Block * Fp8BlockRows.ScaleColumns(cols)).Select(i => 0.01f * (i + 1)).ToArray();
        return Enumerable.Range(0, count).Select(_ =>
        {
            var c = device.Allocate<byte>(codes.Length);
            c.View.CopyFromCPU(codes);
            var s = device.Allocate<float>(scaleInv.Length);
            s.View.CopyFromCPU(scaleInv);
            return (new Fp8BlockRows(c.View, s.View), (IDisposable)new Both(c, s));
        }).ToList();
    });

void Time<TWeights>(string format, int rows, int cols, int bytesPerValue, Func<Random, int, List<(TWeights, IDisposable)>> make)
    where TWeights : struct, IRowFormat<TWeights>
{
    long bytes = (long)rows * cols * bytesPerValue;
    int count = (int)Math.Max(2, (640L << 20) / bytes);
    var rng = new Random(1);
    var matrices = make(rng, count);
    using var x = device.Allocate<float>(cols);
    x.View.CopyFromCPU(Enumerable.Range(0, cols).Select(_ => (float)rng.NextDouble()).ToArray());
    using var y = device.Allocate<float>(rows);
    foreach (var (w, _) in matrices) GemvKernels.LaunchGemv(device, w, x.View, y.View, rows, cols, 1);
    const int Passes = 3;
    var clock = Stopwatch.StartNew();
    for (int p = 0; p < Passes; p++)
        foreach (var (w, _) in matrices) GemvKernels.LaunchGemv(device, w, x.View, y.View, rows, cols, 1);
    double ms = clock.Elapsed.TotalMilliseconds / (Passes * count);
    Console.WriteLine($"{format} {rows}x{cols} ({count} matrices): {ms:F3} ms a launch, {bytes / ms / 1e6:F1} GB/s");
    foreach (var (_, buffers) in matrices) buffers.Dispose();
}

sealed class Both(IDisposable a, IDisposable b) : IDisposable
{
    public void Dispose()
    {
        a.Dispose();
        b.Dispose();
    }
}
