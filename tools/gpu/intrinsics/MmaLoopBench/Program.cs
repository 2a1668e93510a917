using System.Diagnostics;
using System.Globalization;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using KernelSharp.Dsl;
using KernelSharp.Tools.MmaLoopBench;

// Tensor-core workbench. Verbs:
//   ptx <folder>     write mma_loop.ptx, mma_tile.ptx, row_sum.ptx (no GPU needed) for ptxas -v / cuobjdump
//   bench            on CUDA: check one mma tile against float64 (fragments from global memory, and through
//                    cp.async + ldmatrix), then time the register-only mma loop
return args.FirstOrDefault() switch
{
    "ptx" when args.Length == 2 => WritePtx(args[1]),
    "bench" => Bench(),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: MmaLoopBench ptx <folder> | MmaLoopBench bench");
    return 2;
}

static int WritePtx(string folder)
{
    Directory.CreateDirectory(folder);
    foreach (var (file, kernel) in new[] { ("mma_loop.ptx", nameof(BenchKernels.MmaLoop)), ("mma_tile.ptx", nameof(BenchKernels.SingleTile)), ("row_sum.ptx", nameof(BenchKernels.RowSum)) })
    {
        string ptx = PtxCompiler.Compile(typeof(BenchKernels).GetMethod(kernel)!);
        File.WriteAllText(Path.Combine(folder, file), ptx);
        Console.WriteLine($"{file}: {ptx.Split('\n').Length} lines, .local: {(ptx.Contains(".local", StringComparison.Ordinal) ? "YES" : "none")}, " +
                          $"mma.sync: {ptx.Split("mma.sync").Length - 1}");
    }
    return 0;
}

static int Bench()
{
    using var context = Context.Create(builder => builder.Cuda());
    if (context.GetCudaDevices().Count == 0)
    {
        Console.Error.WriteLine("bench: no CUDA device found");
        return 1;
    }
    KernelSharpIntrinsics.Register(context);
    using var accelerator = context.CreateCudaAccelerator(0);
    Console.WriteLine($"device: {accelerator.Name}, {accelerator.NumMultiprocessors} SMs");
    bool tileOk = CheckTile(accelerator);
    double best = TimeMmaLoop(accelerator);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT mma_loop_tflops={best:F1} tile_ok={tileOk}"));
    return tileOk ? 0 : 1;
}

static bool CheckTile(Accelerator accelerator)
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
static double RelativeError(float[] d, ushort[] a, ushort[] bt, float[] c)
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

static double TimeMmaLoop(Accelerator accelerator)
{
    const int iterations = 20_000;
    const int repetitions = 15;
    const double flopsPerMma = 2.0 * 16 * 8 * 16;
    var kernel = accelerator.LoadStreamKernel<ArrayView<float>, int>(BenchKernels.MmaLoop);
    double best = 0;
    foreach (int blocksPerSm in new[] { 4, 8 })
    {
        foreach (int threads in new[] { 128, 256 })
        {
            int blocks = accelerator.NumMultiprocessors * blocksPerSm;
            using var output = accelerator.Allocate1D<float>((long)blocks * threads);
            kernel(new KernelConfig(blocks, threads), output.View, 100); // compile + warm up
            accelerator.Synchronize();
            var seconds = new List<double>();
            for (int rep = 0; rep < repetitions; rep++)
            {
                var watch = Stopwatch.StartNew();
                kernel(new KernelConfig(blocks, threads), output.View, iterations);
                accelerator.Synchronize();
                seconds.Add(watch.Elapsed.TotalSeconds);
            }
            seconds.Sort();
            double median = seconds[seconds.Count / 2];
            double warps = (double)blocks * threads / 32;
            double tflops = warps * iterations * 4 * flopsPerMma / median / 1e12;
            best = Math.Max(best, tflops);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"mma loop: {blocks} blocks × {threads} threads, {iterations} iterations × 4 chains: median {median * 1e3:F3} ms = {tflops:F1} TFLOP/s"));
        }
    }
    return best;
}
