using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using static KernelSharp.Tools.KernelBench.ResultTable;

namespace KernelSharp.Tools.KernelBench;

/// <summary>
/// Prefill GEMM on tensor cores (M = 4096 tokens; N, K from the model) against torch.matmul bf16 (cuBLAS) of the same
/// shape: <see cref="TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/> (the rows as <see cref="BatchItems"/>) with 128×128 and 128×256 group tiles at every
/// pipeline depth, on bf16 weights and on fp8 weights (plus, for fp8, what the runtime runs for long prompts: the
/// weight widened to bf16, then the bf16 kernel). Before each variant is timed, C is poisoned with NaN and two 8×256
/// corners (first rows/columns and last rows/columns, so the edge tiles are covered) are checked against a float64 reference.
/// </summary>
public static class TensorCoreGemmBench
{
    public static readonly (int N, int K)[] Shapes = [(18432, 7168), (7168, 18432), (24576, 1536)];

    public static IEnumerable<BenchRow> Run(KernelDevice device, int m, int n, int k, bool fp8, Baselines baselines)
    {
        var accelerator = device.Accelerator;
        int scaleRows = (n + 127) / 128, scaleCols = (k + 127) / 128;
        using var a = accelerator.Allocate1D<ushort>((long)m * k);                          // [m, k] bf16
        using var weightBf16 = accelerator.Allocate1D<ushort>(fp8 ? 1 : (long)n * k);      // [n, k] bf16
        using var weightFp8 = accelerator.Allocate1D<byte>(fp8 ? (long)n * k : 1);         // [n, k] e4m3
        using var scales = accelerator.Allocate1D<float>((long)scaleRows * scaleCols);      // [ceil(n/128), ceil(k/128)]
        using var c = accelerator.Allocate1D<float>((long)m * n);                           // [m, n]
        DeviceRandom.Bf16(accelerator, a.View, 31);
        if (fp8)
            DeviceRandom.Fp8(accelerator, weightFp8.View, 32);
        else
            DeviceRandom.Bf16(accelerator, weightBf16.View, 32);
        DeviceRandom.Between(accelerator, scales.View, 33, 1e-3f, 3e-3f);

        // Each variant: poisoned output, one checked launch, then the timing; a failure becomes that variant's row only.
        BenchRow Measure(string variant, Action launch)
        {
            string what = $"prefill GEMM {(fp8 ? "fp8 W" : "bf16")}{variant}, {m}×{n}×{k}";
            try
            {
                DeviceRandom.Fill(accelerator, c.View, float.NaN);
                launch();
                device.Synchronize();
                double error = Math.Max(
                    CheckCorner(a, weightBf16, weightFp8, scales, c, m, n, k, 0, 0, fp8),
                    CheckCorner(a, weightBf16, weightFp8, scales, c, m, n, k, m - 8, n - 256, fp8));
                double ms = GpuTiming.MedianMilliseconds(accelerator, _ => launch(), 5, 7);
                double tflops = 2.0 * m * n * k / (ms * 1e-3) / 1e12;
                double? cublas = baselines.GemmTflops(m, n, k);
                double? ratio = tflops / cublas;
                string target = fp8 ? "(info: vs cuBLAS bf16)" : "≥ 0.50 of cuBLAS";
                bool? met = fp8 ? null : ratio is { } r ? r >= 0.5 : null;
                return new BenchRow(what, $"{F(tflops, "F0")} TFLOP/s ({F(ms)} ms)", cublas is { } t ? $"cuBLAS bf16 {F(t, "F0")} TFLOP/s" : "cuBLAS: missing",
                    ratio, target, met, $"rel. err {error:E1}");
            }
            catch (Exception e)
            {
                var inner = e is System.Reflection.TargetInvocationException { InnerException: { } i } ? i : e;
                return new BenchRow(what, "FAILED", "", null, "", false, $"{inner.GetType().Name}: {inner.Message.Split('\n')[0]}");
            }
        }

        // The group tiles and pipeline depths, each launched directly (the launcher would autotune among them); the
        // deeper pipelines run on dynamic shared memory (over 48 KB). The 48 KB pairs keep the row names of earlier
        // tables (bf16: " wide 128×128 (4 warps of 64×64, 3 stages)"; fp8 had only that one), so before/after lines up.
        foreach (var (tileN, stages) in new[] { (128, 3), (128, 2), (128, 4), (256, 2), (256, 3), (256, 4) })
        {
            string depth = (tileN, stages) is (128, 3) or (256, 2) ? "" : $", {stages * (128 + tileN) * 64 / 1024} KB dynamic";
            string variant = $" wide 128×{tileN} ({tileN / 32} warps of 64×64, {stages} stages{depth})";
            yield return fp8
                ? Measure(variant, WideLauncher(device, tileN, stages, a.View, new Fp8BlockRows(weightFp8.View, scales.View), c.View, m, n, k))
                : Measure(variant, WideLauncher(device, tileN, stages, a.View, new Bf16Rows(weightBf16.View), c.View, m, n, k));
        }
        if (fp8)
        {
            // What the runtime runs for long prompts: W widened to a bf16 copy, then the bf16 GEMM (same bits as above).
            using var widened = accelerator.Allocate1D<ushort>((long)n * k); // [n, k] bf16
            yield return Measure(" widened to bf16 + wide bf16 (autotuned)", () =>
            {
                TensorCoreGemmKernels.LaunchWidenFp8WeightsToBf16(device, weightFp8.View, scales.View, widened.View, n, k);
                TensorCoreGemmKernels.LaunchTensorCoreGemm(device, a.View, new Bf16Rows(widened.View), new BatchItems(m), c.View, (m + 127) / 128, n, k);
            });
        }
    }

    /// <summary>
    /// One (group tile width, stages) pair of <see cref="TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/>: its generated
    /// variant on a GPU (with the dynamic shared memory the variant list gives it), the generated CPU path on the
    /// FastCpu device of <c>--smoke</c> (the ILGPU CPU accelerator would take minutes).
    /// </summary>
    private static Action WideLauncher<TWeights>(KernelDevice device, int tileN, int stages, ArrayView<ushort> a, TWeights weight, ArrayView<float> c, int m, int n, int k)
        where TWeights : struct, ITensorCoreRows<TWeights>
    {
        if (device.Backend == KernelBackend.FastCpu)
            return () => TensorCoreGemmKernels.TensorCoreGemmCpu(a, weight, new BatchItems(m), c, (m + 127) / 128, n, k, tileN, stages);
        string name = $"TensorCoreGemm__tileN{tileN}_stages{stages}";
        int dynamicBytes = TensorCoreGemmKernels.TensorCoreGemmVariants.Single(v => v.Method == name).DynamicSharedBytes;
        var method = (Action<ArrayView<ushort>, TWeights, BatchItems, ArrayView<float>, int, int, int>)Delegate.CreateDelegate(
            typeof(Action<ArrayView<ushort>, TWeights, BatchItems, ArrayView<float>, int, int, int>),
            typeof(TensorCoreGemmKernels).GetMethod(name)!.MakeGenericMethod(typeof(TWeights), typeof(BatchItems)));
        // The generated launcher's cache key and delegate type (a stream parameter, KernelDevice.Stream): the autotuned
        // rows of the same device then find this loaded kernel as their own.
        var wide = device.GetOrLoadKernel($"KernelSharp.Kernels.Linear.TensorCoreGemmKernels.{name}<{typeof(TWeights).FullName},{typeof(BatchItems).FullName}>", accelerator =>
        {
            var launcher = accelerator.LoadKernel(method);
            return dynamicBytes == 0 ? launcher : LargeSharedMemory.Allow(launcher, accelerator, dynamicBytes, name);
        });
        var groups = new Index2D((m + 127) / 128, (n + tileN - 1) / tileN);
        var threads = new Index2D(TensorCoreGemmWideTiles.Threads(tileN), 1);
        var config = dynamicBytes == 0 ? new KernelConfig(groups, threads) : new KernelConfig(groups, threads, SharedMemoryConfig.RequestDynamic<byte>(dynamicBytes));
        return () => wide(device.Stream, config, a, weight, new BatchItems(m), c, (m + 127) / 128, n, k);
    }

    /// <summary>Rows [row0, row0 + 8) × columns [col0, col0 + 256) of C against float64.</summary>
    private static double CheckCorner(
        MemoryBuffer1D<ushort, Stride1D.Dense> a, MemoryBuffer1D<ushort, Stride1D.Dense> weightBf16, MemoryBuffer1D<byte, Stride1D.Dense> weightFp8,
        MemoryBuffer1D<float, Stride1D.Dense> scales, MemoryBuffer1D<float, Stride1D.Dense> c, int m, int n, int k, int row0, int col0, bool fp8)
    {
        const int rows = 8, cols = 256;
        ushort[] aRows = new ushort[(long)rows * k];
        a.View.SubView((long)row0 * k, aRows.Length).CopyToCPU(aRows);
        double[] w;
        if (fp8)
        {
            byte[] bytes = new byte[(long)cols * k];
            weightFp8.View.SubView((long)col0 * k, bytes.Length).CopyToCPU(bytes);
            float[] s = scales.GetAsArray1D();
            int scaleCols = (k + 127) / 128;
            w = new double[bytes.Length];
            for (int j = 0; j < cols; j++)
                for (int p = 0; p < k; p++)
                    w[(long)j * k + p] = LinearWeightsReference.DecodeFp8E4M3(bytes[(long)j * k + p]) * s[((col0 + j) / 128) * scaleCols + p / 128];
        }
        else
        {
            ushort[] bits = new ushort[(long)cols * k];
            weightBf16.View.SubView((long)col0 * k, bits.Length).CopyToCPU(bits);
            w = LinearWeightsReference.DecodeBf16(bits);
        }
        double[] reference = TensorCoreGemmReference.Multiply(LinearWeightsReference.DecodeBf16(aRows), w, rows, cols, k);
        float[] actual = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            float[] line = new float[cols];
            c.View.SubView((long)(row0 + r) * n + col0, cols).CopyToCPU(line);
            line.CopyTo(actual, r * cols);
        }
        // fp8: the kernel rounds W·scale to bf16 (2^-9 relative per weight).
        return Verification.Require($"tensor-core gemm {(fp8 ? "fp8" : "bf16")} rows {row0}.. cols {col0}..", actual, reference, fp8 ? 1e-2 : 1e-4);
    }
}
