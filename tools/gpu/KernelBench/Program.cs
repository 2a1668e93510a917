using System.Globalization;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Linear;
using KernelSharp.Tools.KernelBench;
using KernelSharp.Tools.MmaLoopBench;

// The H200 benchmark bundle (tools/gpu/h200-perf.sh runs every verb in one device call). Verbs:
//   ptx <folder>                         PTX of the mma loops, the mma tile, a reduction, the tensor-core GEMMs and sparse MLA (no GPU)
//   mma                                  CUDA: one mma tile vs float64, then the register-only mma loop variants
//   kernels [--baselines F] [--out F]    CUDA: the H200 table's kernel rows (checked first, then timed) as a markdown table
//           [--only TEXT]                only the rows whose name contains TEXT
//           [--smoke]                    tiny shapes on the generated CPU path: checks the harness itself without a GPU
//   smem                                 CUDA: > 48 KB dynamic shared memory through cuFuncSetAttribute
//   graph [launches]                     CUDA: ILGPU launches captured as one CUDA graph and replayed (default 450, a decode step's count)
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
return args.FirstOrDefault() switch
{
    "ptx" when args.Length == 2 => WritePtx(args[1]),
    "mma" => WithCuda(accelerator => MmaCommands.Bench(accelerator).TileOk ? 0 : 1),
    "kernels" => KernelRows(Option(args, "--baselines"), Option(args, "--out"), Option(args, "--only"), args.Contains("--smoke")),
    "smem" => WithCuda(SharedMemoryProbe.Run),
    "graph" => WithCuda(accelerator => GraphCaptureProbe.Run(accelerator, args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 450)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: KernelBench ptx <folder> | mma | kernels [--baselines baselines.json] [--out table.md] [--only text] [--smoke] | smem | graph [launches]");
    return 2;
}

static string? Option(string[] args, string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static int WritePtx(string folder)
{
    MmaCommands.WritePtx(folder);
    var gemm = typeof(TensorCoreGemmKernels).GetMethod("TensorCoreGemm__tileN128_stages3")!; // the 48 KB static variant
    MmaCommands.WriteOnePtx(folder, "tc_gemm_bf16.ptx", gemm.MakeGenericMethod(typeof(KernelSharp.Kernels.Formats.Bf16Rows), typeof(BatchItems)));
    MmaCommands.WriteOnePtx(folder, "tc_gemm_fp8.ptx", gemm.MakeGenericMethod(typeof(KernelSharp.Kernels.Formats.Fp8BlockRows), typeof(BatchItems)));
    MmaCommands.WriteOnePtx(folder, "tc_sparse_mla.ptx", typeof(KernelSharp.Kernels.Attention.MlaTensorCoreKernels).GetMethod(nameof(KernelSharp.Kernels.Attention.MlaTensorCoreKernels.SparseMlaTensorCore))!);
    return 0;
}

static int WithCuda(Func<Accelerator, int> body)
{
    using var context = Context.Create(builder => builder.Cuda().EnableAlgorithms());
    if (context.GetCudaDevices().Count == 0)
    {
        Console.Error.WriteLine("no CUDA device found");
        return 1;
    }
    KernelSharpIntrinsics.Register(context);
    using var accelerator = context.CreateCudaAccelerator(0);
    return body(accelerator);
}

static int KernelRows(string? baselinesPath, string? outPath, string? only, bool smoke)
{
    var baselines = Baselines.Load(baselinesPath);
    using var device = KernelDevice.Create(smoke ? KernelBackend.FastCpu : KernelBackend.Cuda);
    var shapes = smoke ? BenchShapes.Smoke : BenchShapes.H200;
    Console.WriteLine($"device: {device.Name}, {device.Accelerator.NumMultiprocessors} SMs");
    string header = $"Kernel rows of the H200 table, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {device.Name}" +
                    (baselines.Gpu is { } gpu ? $"; PyTorch baselines on {gpu}" : "") + "\n\n";
    var table = new ResultTable(outPath, header);
    bool Wanted(string what) => only is null || what.Contains(only, StringComparison.OrdinalIgnoreCase);

    double copyTbps = double.NaN;
    table.Run($"HBM copy ceiling (ILGPU float4, {ResultTable.F(shapes.CopyFloats * 4.0 / (1 << 30), "0.###")} GiB)", () =>
    {
        copyTbps = CopyCeiling.MeasureTbps(device.Accelerator, shapes.CopyFloats);
        double? torch = baselines.CopyTbps;
        return [new BenchRow($"HBM copy ceiling (ILGPU float4, {ResultTable.F(shapes.CopyFloats * 4.0 / (1 << 30), "0.###")} GiB)", $"{ResultTable.F(copyTbps)} TB/s",
            torch is { } t ? $"PyTorch copy {ResultTable.F(t)} TB/s" : "PyTorch: missing", copyTbps / torch, "ceiling", null)];
    });

    // --only matches the row's label (a benchmark that yields several rows runs when its first label matches).
    void Row(string label, Func<IEnumerable<BenchRow>> benchmark)
    {
        if (Wanted(label))
            table.Run(label, benchmark);
    }

    foreach (var (rows, cols) in shapes.Gemv)
    {
        Row($"decode GEMV bf16 [{rows}×{cols}]", () => GemvBench.Bf16(device, rows, cols, copyTbps));
        Row($"decode GEMV fp8 [{rows}×{cols}]", () => GemvBench.Fp8(device, rows, cols, copyTbps));
    }
    foreach (var (rows, cols) in shapes.Gemv)
    {
        foreach (int batch in shapes.GemvBatches)
            Row($"decode GEMV bf16, batch {batch} [{rows}×{cols}]", () => GemvBench.Bf16Batch(device, rows, cols, batch, copyTbps));
    }
    foreach (int tokens in shapes.IndexerDecodeTokens)
    {
        Row($"indexer decode fp8, T = {ResultTable.Tokens(tokens)}", () => IndexerBench.Decode(device, tokens, copyTbps, baselines));
        Row($"top-k of one row, T = {ResultTable.Tokens(tokens)}", () => TopKBench.Row(device, tokens));
    }
    foreach (int batch in shapes.MlaDecodeBatches)
        Row($"sparse MLA decode, batch {batch}", () => SparseMlaBench.Decode(device, batch, copyTbps, baselines));
    foreach (var (n, k) in shapes.Gemm)
    {
        int m = shapes.GemmM;
        Row($"prefill GEMM bf16, {m}×{n}×{k}", () => TensorCoreGemmBench.Run(device, m, n, k, fp8: false, baselines));
        Row($"prefill GEMM fp8 W, {m}×{n}×{k}", () => TensorCoreGemmBench.Run(device, m, n, k, fp8: true, baselines));
    }
    Row($"sparse MLA prefill, S = {shapes.PrefillTokens}", () => SparseMlaBench.Prefill(device, shapes.PrefillTokens, baselines));
    Row($"indexer prefill fp8, S = {shapes.PrefillTokens}", () => IndexerBench.Prefill(device, shapes.PrefillTokens, baselines));

    Console.WriteLine();
    Console.WriteLine(table.ToMarkdown());
    return table.Rows.Any(r => r.Ours == "FAILED") ? 1 : 0;
}
