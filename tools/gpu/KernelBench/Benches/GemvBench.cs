using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using static KernelSharp.Tools.KernelBench.ResultTable;

namespace KernelSharp.Tools.KernelBench;

/// <summary>
/// Decode GEMV (batch 1) with bf16 and block-scaled fp8 weights through the library's launchers (autotuned variants):
/// one row for the group-per-row kernels (GemvBf16/GemvFp8), one for the warp-per-rows kernels (GemvBf16Rows/GemvFp8Rows),
/// one for the tensor-core GEMV; and a batch of decode rows (many sequences) through the warp-per-rows and the tensor-core GEMV;
/// weight bytes per second over the copy ceiling. Several weight copies rotate so each
/// launch reads from HBM, not L2. The first 64 output rows are checked against a float64 reference first.
/// </summary>
public static class GemvBench
{
    /// <summary>(rows = out features, cols = in features): the dense MLP's 18432 × 7168 both ways and an expert's 2048 × 7168 both ways.</summary>
    public static readonly (int Rows, int Cols)[] Shapes = [(18432, 7168), (7168, 18432), (2048, 7168), (7168, 2048)];

    public static IEnumerable<BenchRow> Bf16(KernelDevice device, int rows, int cols, double copyTbps)
    {
        var accelerator = device.Accelerator;
        long weightBytes = 2L * rows * cols;
        int copies = GpuTiming.CopiesToDefeatCache(weightBytes);
        var weights = Enumerable.Range(0, copies).Select(_ => accelerator.Allocate1D<ushort>((long)rows * cols)).ToArray(); // each [rows, cols] bf16
        using var input = accelerator.Allocate1D<float>(cols);   // [1, cols]
        using var split = accelerator.Allocate1D<uint>(cols);    // [1, cols] the tensor-core GEMV's hi/lo words of input
        using var output = accelerator.Allocate1D<float>(rows);  // [1, rows]
        using var slices = accelerator.Allocate1D<float>(8L * rows); // [k-slices, 1, rows] the tensor-core GEMV's partial sums
        try
        {
            for (int c = 0; c < copies; c++)
                DeviceRandom.Bf16(accelerator, weights[c].View, (uint)(100 + c));
            DeviceRandom.Uniform(accelerator, input.View, 7);

            const int checkedRows = 64;
            ushort[] w = new ushort[checkedRows * cols];
            weights[0].View.SubView(0, w.Length).CopyToCPU(w);
            float[] x = input.GetAsArray1D();
            float[] y = new float[checkedRows];
            var reference = new double[checkedRows];
            for (int r = 0; r < checkedRows; r++)
                for (int i = 0; i < cols; i++)
                    reference[r] += LinearWeightsReference.DecodeBf16(w[(long)r * cols + i]) * x[i];
            double bytes = weightBytes + 4.0 * (rows + cols);
            // The group-per-row kernel, then the warp-per-rows kernel (autotuned over rowsPerWarp × chunksInFlight).
            foreach (var (label, launch) in new (string, Action<int>)[]
            {
                ("", i => GemvKernels.LaunchGemv(device, new Bf16Rows(weights[i % copies].View), input.View, output.View, rows, cols, 1)),
                (", warp rows", i => GemvKernels.LaunchGemvRows(device, new Bf16Rows(weights[i % copies].View), input.View, output.View, rows, cols, 1, 1)),
                (", tensor cores", i => SplitThen(device, input, split, cols, () => GemvKernels.LaunchTensorCoreGemvBatch(device, new Bf16Rows(weights[i % copies].View), 1, split.View, slices.View, output.View, rows, cols))),
            })
            {
                DeviceRandom.Fill(accelerator, output.View, float.NaN);
                launch(0);
                device.Synchronize();
                output.View.SubView(0, checkedRows).CopyToCPU(y);
                double error = Verification.Require($"gemv bf16{label} {rows}×{cols}", y, reference, 1e-4);
                double ms = GpuTiming.MedianMilliseconds(accelerator, launch, 20, 9);
                double tbps = bytes / (ms * 1e-3) / 1e12;
                double ratio = tbps / copyTbps;
                yield return new BenchRow($"decode GEMV bf16{label} [{rows}×{cols}]", $"{F(tbps)} TB/s ({F(ms * 1e3, "F1")} µs)",
                    $"copy {F(copyTbps)} TB/s", ratio, "≥ 0.80 of copy", ratio >= 0.8, $"rel. err {error:E1}");
            }
        }
        finally
        {
            foreach (var weight in weights)
                weight.Dispose();
        }
    }

    public static IEnumerable<BenchRow> Fp8(KernelDevice device, int rows, int cols, double copyTbps)
    {
        var accelerator = device.Accelerator;
        int scaleRows = (rows + 127) / 128, scaleCols = (cols + 127) / 128;
        long weightBytes = (long)rows * cols + 4L * scaleRows * scaleCols;
        int copies = GpuTiming.CopiesToDefeatCache(weightBytes);
        var weights = Enumerable.Range(0, copies).Select(_ => accelerator.Allocate1D<byte>((long)rows * cols)).ToArray(); // each [rows, cols] e4m3
        using var scales = accelerator.Allocate1D<float>((long)scaleRows * scaleCols); // [ceil(rows/128), ceil(cols/128)]
        using var input = accelerator.Allocate1D<float>(cols);   // [1, cols]
        using var split = accelerator.Allocate1D<uint>(cols);    // [1, cols] the tensor-core GEMV's hi/lo words of input
        using var output = accelerator.Allocate1D<float>(rows);  // [1, rows]
        using var slices = accelerator.Allocate1D<float>(8L * rows); // [k-slices, 1, rows] the tensor-core GEMV's partial sums
        try
        {
            for (int c = 0; c < copies; c++)
                DeviceRandom.Fp8(accelerator, weights[c].View, (uint)(200 + c));
            DeviceRandom.Between(accelerator, scales.View, 5, 1e-4f, 3e-3f);
            DeviceRandom.Uniform(accelerator, input.View, 8);

            const int checkedRows = 64;
            byte[] w = new byte[checkedRows * cols];
            weights[0].View.SubView(0, w.Length).CopyToCPU(w);
            float[] s = scales.GetAsArray1D();
            float[] x = input.GetAsArray1D();
            float[] y = new float[checkedRows];
            var reference = new double[checkedRows];
            for (int r = 0; r < checkedRows; r++)
                for (int i = 0; i < cols; i++)
                    reference[r] += LinearWeightsReference.DecodeFp8E4M3(w[(long)r * cols + i]) * s[(r / 128) * scaleCols + i / 128] * x[i];
            double bytes = weightBytes + 4.0 * (rows + cols);
            foreach (var (label, launch) in new (string, Action<int>)[]
            {
                ("", i => GemvKernels.LaunchGemv(device, new Fp8BlockRows(weights[i % copies].View, scales.View), input.View, output.View, rows, cols, 1)),
                (", warp rows", i => GemvKernels.LaunchGemvRows(device, new Fp8BlockRows(weights[i % copies].View, scales.View), input.View, output.View, rows, cols, 1, 1)),
                (", tensor cores", i => SplitThen(device, input, split, cols, () => GemvKernels.LaunchTensorCoreGemvBatch(device, new Fp8BlockRows(weights[i % copies].View, scales.View), 1, split.View, slices.View, output.View, rows, cols))),
            })
            {
                DeviceRandom.Fill(accelerator, output.View, float.NaN);
                launch(0);
                device.Synchronize();
                output.View.SubView(0, checkedRows).CopyToCPU(y);
                double error = Verification.Require($"gemv fp8{label} {rows}×{cols}", y, reference, 1e-4);
                double ms = GpuTiming.MedianMilliseconds(accelerator, launch, 20, 9);
                double tbps = bytes / (ms * 1e-3) / 1e12;
                double ratio = tbps / copyTbps;
                yield return new BenchRow($"decode GEMV fp8{label} [{rows}×{cols}]", $"{F(tbps)} TB/s ({F(ms * 1e3, "F1")} µs)",
                    $"copy {F(copyTbps)} TB/s", ratio, "≥ 0.80 of copy", ratio >= 0.8, $"rel. err {error:E1}");
            }
        }
        finally
        {
            foreach (var weight in weights)
                weight.Dispose();
        }
    }

    /// <summary>
    /// A decode batch of <paramref name="batch"/> sequences (bf16 weights): the warp-per-rows GEMV (4 items per weight
    /// load, as the runtime walks a batch) against the tensor-core GEMV (each weight read once for up to 64 items). The
    /// figure is the weight bytes per second, so 1.0 of copy means the batch cost what one read of the weights costs.
    /// Items 0 and batch − 1 are checked on their first 64 rows first.
    /// </summary>
    public static IEnumerable<BenchRow> Bf16Batch(KernelDevice device, int rows, int cols, int batch, double copyTbps)
    {
        var accelerator = device.Accelerator;
        long weightBytes = 2L * rows * cols;
        int copies = GpuTiming.CopiesToDefeatCache(weightBytes);
        var weights = Enumerable.Range(0, copies).Select(_ => accelerator.Allocate1D<ushort>((long)rows * cols)).ToArray(); // each [rows, cols] bf16
        using var input = accelerator.Allocate1D<float>((long)batch * cols);   // [batch, cols]
        using var split = accelerator.Allocate1D<uint>((long)batch * cols);    // [batch, cols] the tensor-core GEMV's hi/lo words of input
        using var output = accelerator.Allocate1D<float>((long)batch * rows);  // [batch, rows]
        using var slices = accelerator.Allocate1D<float>(8L * batch * rows);  // [k-slices, batch, rows] the tensor-core GEMV's partial sums
        try
        {
            for (int c = 0; c < copies; c++)
                DeviceRandom.Bf16(accelerator, weights[c].View, (uint)(300 + c));
            DeviceRandom.Uniform(accelerator, input.View, 9);

            const int checkedRows = 64;
            ushort[] w = new ushort[checkedRows * cols];
            weights[0].View.SubView(0, w.Length).CopyToCPU(w);
            float[] x = input.GetAsArray1D();
            int[] items = [0, batch - 1];
            var reference = new double[items.Length * checkedRows];
            for (int k = 0; k < items.Length; k++)
                for (int r = 0; r < checkedRows; r++)
                    for (int i = 0; i < cols; i++)
                        reference[k * checkedRows + r] += LinearWeightsReference.DecodeBf16(w[(long)r * cols + i]) * x[(long)items[k] * cols + i];
            foreach (var (label, launch) in new (string, Action<int>)[]
            {
                ("warp rows", i => GemvKernels.LaunchGemvRows(device, new Bf16Rows(weights[i % copies].View), input.View, output.View, rows, cols, batch, batch >= 4 ? 4 : 1)),
                ("tensor cores", i => SplitThen(device, input, split, batch * cols, () => GemvKernels.LaunchTensorCoreGemvBatch(device, new Bf16Rows(weights[i % copies].View), batch, split.View, slices.View, output.View, rows, cols))),
            })
            {
                DeviceRandom.Fill(accelerator, output.View, float.NaN);
                launch(0);
                device.Synchronize();
                float[] y = output.GetAsArray1D();
                var actual = items.SelectMany(item => y.AsSpan(item * rows, checkedRows).ToArray()).ToArray();
                double error = Verification.Require($"gemv bf16 batch {batch} {label} {rows}×{cols}", actual, reference, 1e-4);
                double ms = GpuTiming.MedianMilliseconds(accelerator, launch, 20, 9);
                double tbps = (weightBytes + 4.0 * batch * (rows + cols)) / (ms * 1e-3) / 1e12;
                double ratio = tbps / copyTbps;
                yield return new BenchRow($"decode GEMV bf16, batch {batch}, {label} [{rows}×{cols}]", $"{F(tbps)} TB/s of weights ({F(ms * 1e3, "F1")} µs)",
                    $"copy {F(copyTbps)} TB/s", ratio, "≥ 0.80 of copy", ratio >= 0.8, $"rel. err {error:E1}");
            }
        }
        finally
        {
            foreach (var weight in weights)
                weight.Dispose();
        }
    }

    /// <summary>The tensor-core GEMV as the runtime launches it: the activations split (<see cref="GemvKernels.SplitToBf16Pairs"/>), then the GEMV; both timed.</summary>
    private static void SplitThen(KernelDevice device, MemoryBuffer1D<float, Stride1D.Dense> input, MemoryBuffer1D<uint, Stride1D.Dense> split, int count, Action gemv)
    {
        GemvKernels.LaunchSplitToBf16Pairs(device, input.View, split.View, count);
        gemv();
    }
}
