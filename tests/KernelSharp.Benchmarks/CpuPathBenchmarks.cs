using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Norms;
using KernelSharp.Kernels.Testing;

namespace KernelSharp.Benchmarks;

/// <summary>
/// The generated CPU path against ILGPU's CPU accelerator and a hand-written TensorPrimitives loop (the baseline),
/// on the same kernels and shapes. Targets (docs/perf/cpu-path.md): CPU path ≥ 5× the ILGPU CPU accelerator and
/// within 1.5× of TensorPrimitives. Each benchmark runs the whole operation once and waits for it.
/// </summary>
public abstract class CpuPathBenchmarkBase
{
    protected KernelDevice FastCpu = null!;
    protected KernelDevice IlgpuCpu = null!;

    protected void OpenDevices()
    {
        // Tuning happens on the first launch (both group shapes timed); keep its file out of the user's cache.
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE", Path.Combine(Path.GetTempPath(), $"ks-bench-autotune-{Environment.ProcessId}.json"));
        FastCpu = KernelDevice.Create(KernelBackend.FastCpu);
        IlgpuCpu = KernelDevice.Create(KernelBackend.IlgpuCpu);
    }

    protected void CloseDevices()
    {
        FastCpu.Dispose();
        IlgpuCpu.Dispose();
    }

    protected static MemoryBuffer1D<float, Stride1D.Dense> Upload(KernelDevice device, float[] host)
    {
        var buffer = device.Allocate<float>(host.Length);
        buffer.View.CopyFromCPU(host);
        return buffer;
    }
}

/// <summary>RMSNorm over 64 rows of 4096 (a prefill chunk at a mid-size hidden width).</summary>
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class RmsNormCpuPathBenchmark : CpuPathBenchmarkBase
{
    private const int Rows = 64, N = 4096;
    private const float Eps = 1e-6f;
    private float[] input = null!, weight = null!, output = null!;
    private MemoryBuffer1D<float, Stride1D.Dense> fastX = null!, fastW = null!, fastY = null!, ilgpuX = null!, ilgpuW = null!, ilgpuY = null!;

    [GlobalSetup]
    public void Setup()
    {
        OpenDevices();
        var random = new Random(1);
        input = RandomTensors.Normal(random, Rows * N);  // [64, 4096]
        weight = RandomTensors.Uniform(random, N);       // [4096]
        output = new float[Rows * N];                    // [64, 4096]
        (fastX, fastW, fastY) = (Upload(FastCpu, input), Upload(FastCpu, weight), Upload(FastCpu, output));
        (ilgpuX, ilgpuW, ilgpuY) = (Upload(IlgpuCpu, input), Upload(IlgpuCpu, weight), Upload(IlgpuCpu, output));
        GeneratedCpuPath();
        IlgpuCpuAccelerator();
    }

    [GlobalCleanup]
    public void Cleanup() => CloseDevices();

    [Benchmark(Baseline = true)]
    public void TensorPrimitivesLoop() => Parallel.For(0, Rows, row =>
    {
        ReadOnlySpan<float> x = input.AsSpan(row * N, N);
        Span<float> y = output.AsSpan(row * N, N);
        float inverseRms = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(x) / N + Eps);
        TensorPrimitives.Multiply(x, weight, y);
        TensorPrimitives.Multiply(y, inverseRms, y);
    });

    [Benchmark]
    public void GeneratedCpuPath() => RmsNormKernels.LaunchRmsNorm(FastCpu, fastX.View, fastW.View, fastY.View, Rows, N, Eps);

    [Benchmark]
    public void IlgpuCpuAccelerator()
    {
        RmsNormKernels.LaunchRmsNorm(IlgpuCpu, ilgpuX.View, ilgpuW.View, ilgpuY.View, Rows, N, Eps);
        IlgpuCpu.Synchronize();
    }

    /// <summary>The GPU-shaped variant (256 threads and a group reduction per row) on ILGPU's CPU accelerator: what an
    /// ILGPU user gets when running a GPU kernel on the CPU, which emulates every lane and barrier.</summary>
    [Benchmark]
    public void IlgpuCpuAcceleratorGpuVariant()
    {
        var kernel = IlgpuCpu.GetOrLoadKernel("bench/RmsNorm__groupSize256", static a =>
            a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(RmsNormKernels.RmsNorm__groupSize256));
        kernel(new KernelConfig(Rows, 256), ilgpuX.View, ilgpuW.View, ilgpuY.View, Rows, N, Eps);
        IlgpuCpu.Synchronize();
    }
}

/// <summary>fp32 GEMV 4096×4096 (one decode-step projection): 64 MB of weights per call.</summary>
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class GemvCpuPathBenchmark : CpuPathBenchmarkBase
{
    private const int Rows = 4096, Cols = 4096;
    private float[] weight = null!, input = null!, output = null!;
    private MemoryBuffer1D<float, Stride1D.Dense> fastW = null!, fastX = null!, fastY = null!, ilgpuW = null!, ilgpuX = null!, ilgpuY = null!;

    [GlobalSetup]
    public void Setup()
    {
        OpenDevices();
        var random = new Random(2);
        weight = RandomTensors.Uniform(random, (long)Rows * Cols); // [4096, 4096]
        input = RandomTensors.Uniform(random, Cols);               // [1, 4096]
        output = new float[Rows];                                   // [1, 4096]
        (fastW, fastX, fastY) = (Upload(FastCpu, weight), Upload(FastCpu, input), Upload(FastCpu, output));
        (ilgpuW, ilgpuX, ilgpuY) = (Upload(IlgpuCpu, weight), Upload(IlgpuCpu, input), Upload(IlgpuCpu, output));
        GeneratedCpuPath();
        IlgpuCpuAccelerator();
    }

    [GlobalCleanup]
    public void Cleanup() => CloseDevices();

    [Benchmark(Baseline = true)]
    public void TensorPrimitivesLoop() => Parallel.For(0, Rows, row =>
        output[row] = TensorPrimitives.Dot(weight.AsSpan(row * Cols, Cols), input));

    [Benchmark]
    public void GeneratedCpuPath() => GemvKernels.LaunchGemv(FastCpu, new F32Rows(fastW.View), fastX.View, fastY.View, Rows, Cols, 1);

    [Benchmark]
    public void IlgpuCpuAccelerator()
    {
        GemvKernels.LaunchGemv(IlgpuCpu, new F32Rows(ilgpuW.View), ilgpuX.View, ilgpuY.View, Rows, Cols, 1);
        IlgpuCpu.Synchronize();
    }
}

