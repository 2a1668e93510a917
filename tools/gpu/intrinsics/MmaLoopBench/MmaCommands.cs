using System.Diagnostics;
using System.Globalization;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;

namespace KernelSharp.Tools.MmaLoopBench;

/// <summary>
/// The tensor-core workbench's commands, shared by MmaLoopBench and tools/gpu/KernelBench (one bundle per device
/// call): the PTX of the bench kernels for ptxas/cuobjdump, one mma tile checked against float64, and the
/// register-only mma loops timed.
/// </summary>
public static class MmaCommands
{
    /// <summary>A timed loop kernel and how many mma one trip around its loop issues per warp.</summary>
    private sealed record LoopVariant(string Name, Action<Accelerator, KernelConfig, ArrayView<float>, int> Launch, int MmaPerTrip, int Trips);

    /// <summary>PTX files written by <see cref="WritePtx"/> (file name, kernel method).</summary>
    public static readonly (string File, string Kernel)[] PtxKernels =
    [
        ("mma_loop.ptx", nameof(BenchKernels.MmaLoop)),
        ("mma_loop_4x4.ptx", nameof(BenchKernels.MmaLoop4x4)),
        ("mma_loop_8x2.ptx", nameof(BenchKernels.MmaLoop8x2)),
        ("mma_loop_4x8.ptx", nameof(BenchKernels.MmaLoop4x8)),
        ("mma_tile.ptx", nameof(BenchKernels.SingleTile)),
        ("row_sum.ptx", nameof(BenchKernels.RowSum)),
    ];

    /// <summary>Writes the PTX ILGPU generates (sm_80) for the bench kernels; no GPU needed.</summary>
    public static int WritePtx(string folder)
    {
        Directory.CreateDirectory(folder);
        foreach (var (file, kernel) in PtxKernels)
            WriteOnePtx(folder, file, typeof(BenchKernels).GetMethod(kernel)!);
        return 0;
    }

    /// <summary>Writes one kernel's PTX and prints whether it touches local memory and how many mma it holds.</summary>
    public static void WriteOnePtx(string folder, string file, System.Reflection.MethodInfo kernel)
    {
        string ptx = PtxCompiler.Compile(kernel);
        File.WriteAllText(Path.Combine(folder, file), ptx);
        Console.WriteLine($"{file}: {ptx.Split('\n').Length} lines, .local: {(ptx.Contains(".local", StringComparison.Ordinal) ? "YES" : "none")}, " +
                          $"mma.sync: {ptx.Split("mma.sync").Length - 1}, ldmatrix: {ptx.Split("ldmatrix").Length - 1}, cp.async: {ptx.Split("cp.async.cg").Length - 1}");
    }

    /// <summary>On CUDA: checks one tile, then times every loop variant. Returns the best TFLOP/s (0 when the tile is wrong).</summary>
    public static (bool TileOk, double BestTflops) Bench(Accelerator accelerator)
    {
        Console.WriteLine($"device: {accelerator.Name}, {accelerator.NumMultiprocessors} SMs");
        bool tileOk = CheckTile(accelerator);
        LoopVariant[] variants =
        [
            new("4 chains × 1 (old)", Loader(accelerator, BenchKernels.MmaLoop), 4, 20_000),
            new("4 chains × 4", Loader(accelerator, BenchKernels.MmaLoop4x4), 16, 5_000),
            new("8 chains × 2", Loader(accelerator, BenchKernels.MmaLoop8x2), 16, 5_000),
            new("4 chains × 8", Loader(accelerator, BenchKernels.MmaLoop4x8), 32, 2_500),
        ];
        double best = 0;
        var summary = new List<string>();
        foreach (var variant in variants)
        {
            double tflops = TimeLoop(accelerator, variant);
            summary.Add(string.Create(CultureInfo.InvariantCulture, $"{variant.Name}: {tflops:F1}"));
            best = Math.Max(best, tflops);
        }
        Console.WriteLine("mma loop best TFLOP/s per variant: " + string.Join("; ", summary));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT mma_loop_tflops={best:F1} tile_ok={tileOk}"));
        return (tileOk, best);
    }

    private static Action<Accelerator, KernelConfig, ArrayView<float>, int> Loader(Accelerator accelerator, Action<ArrayView<float>, int> kernel)
    {
        var loaded = accelerator.LoadStreamKernel(kernel);
        return (_, config, output, trips) => loaded(config, output, trips);
    }

    private static bool CheckTile(Accelerator accelerator)
    {
        var random = new Random(1234);
        ushort[] a = Enumerable.Range(0, 256).Select(_ => Bf16.FromFloat((float)(random.NextDouble() * 4 - 2))).ToArray(); // [16 × 16]
        ushort[] bt = Enumerable.Range(0, 128).Select(_ => Bf16.FromFloat((float)(random.NextDouble() * 4 - 2))).ToArray(); // [8 × 16]
        float[] c = Enumerable.Range(0, 128).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray(); // [16 × 8]
        using var aBuffer = accelerator.Allocate1D(a);
        using var btBuffer = accelerator.Allocate1D(bt);
        using var cBuffer = accelerator.Allocate1D(c);
        using var dBuffer = accelerator.Allocate1D<float>(128);

        var registers = accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>>(BenchKernels.SingleTile);
        registers(new KernelConfig(1, 32), aBuffer.View, btBuffer.View, cBuffer.View, dBuffer.View);
        accelerator.Synchronize();
        double registerError = RelativeError(dBuffer.GetAsArray1D(), a, bt, c);

        var shared = accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>>(BenchKernels.SharedTile);
        shared(new KernelConfig(1, 32), aBuffer.View, btBuffer.View, dBuffer.View);
        accelerator.Synchronize();
        double sharedError = RelativeError(dBuffer.GetAsArray1D(), a, bt, new float[128]);

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mma tile vs float64: max relative error {registerError:E2} (fragments from global), {sharedError:E2} (cp.async + ldmatrix)"));
        return registerError < 1e-2 && sharedError < 1e-2;
    }

    /// <summary>max |d − (A·B + C)| / max |A·B + C| over the 16×8 tile, the reference in float64.</summary>
    private static double RelativeError(float[] d, ushort[] a, ushort[] bt, float[] c)
    {
        double worst = 0, scale = 0;
        for (int m = 0; m < 16; m++)
        {
            for (int n = 0; n < 8; n++)
            {
                double expected = c[m * 8 + n];
                for (int k = 0; k < 16; k++)
                    expected += (double)Bf16.ToFloat(a[m * 16 + k]) * Bf16.ToFloat(bt[n * 16 + k]);
                worst = Math.Max(worst, Math.Abs(d[m * 8 + n] - expected));
                scale = Math.Max(scale, Math.Abs(expected));
            }
        }
        return worst / scale;
    }

    /// <summary>Best over 4/8 blocks per SM × 128/256 threads of the median of 15 timed launches.</summary>
    private static double TimeLoop(Accelerator accelerator, LoopVariant variant)
    {
        const int repetitions = 15;
        const double flopsPerMma = 2.0 * 16 * 8 * 16;
        double best = 0;
        foreach (int blocksPerSm in new[] { 4, 8, 16 })
        {
            foreach (int threads in new[] { 128, 256, 512 })
            {
                int blocks = accelerator.NumMultiprocessors * blocksPerSm;
                using var output = accelerator.Allocate1D<float>((long)blocks * threads); // [blocks · threads]
                var config = new KernelConfig(blocks, threads);
                variant.Launch(accelerator, config, output.View, 10); // compile + warm up
                accelerator.Synchronize();
                var seconds = new List<double>();
                for (int rep = 0; rep < repetitions; rep++)
                {
                    var watch = Stopwatch.StartNew();
                    variant.Launch(accelerator, config, output.View, variant.Trips);
                    accelerator.Synchronize();
                    seconds.Add(watch.Elapsed.TotalSeconds);
                }
                seconds.Sort();
                double median = seconds[seconds.Count / 2];
                double warps = (double)blocks * threads / 32;
                double tflops = warps * variant.Trips * variant.MmaPerTrip * flopsPerMma / median / 1e12;
                best = Math.Max(best, tflops);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"mma loop {variant.Name}: {blocks} blocks × {threads} threads, {variant.Trips} trips × {variant.MmaPerTrip} mma: median {median * 1e3:F3} ms = {tflops:F1} TFLOP/s"));
            }
        }
        return best;
    }
}
