using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Norms;
using KernelSharp.Kernels.Testing;
using Xunit;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// The generated launchers (<c>LaunchName(KernelDevice, ...)</c>: autotuned variant choice, FastCpu dispatch) of two
/// dense kernels on every backend present, against the references: the path the runtime takes.
/// </summary>
public sealed class LauncherTests
{
    static LauncherTests()
    {
        // The autotuner persists its choices; keep them out of the user's cache folder.
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE",
            Path.Combine(Path.GetTempPath(), $"ks-kernels-tests-autotune-{Environment.ProcessId}.json"));
    }

    public static TheoryData<KernelBackend> Backends => new() { KernelBackend.FastCpu, KernelBackend.Cuda, KernelBackend.OpenCL };

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public void RmsNorm_launcher_matches_reference(KernelBackend backend)
    {
        using var device = Open(backend);
        const int rows = 3, n = 1000;
        var random = new Random(11);
        float[] input = RandomTensors.Normal(random, rows * n);
        float[] weight = RandomTensors.Uniform(random, n);
        double[] expected = RmsNormReference.Normalize(input, weight, rows, n, 1e-6f);

        using var x = Upload(device, input);
        using var w = Upload(device, weight);
        using var y = device.Allocate<float>(rows * n);
        RmsNormKernels.LaunchRmsNorm(device, x.View, w.View, y.View, rows, n, 1e-6f);
        device.Synchronize();

        Tolerance.AssertClose(expected, y.GetAsArray1D(), Tolerance.Fp32, $"LaunchRmsNorm on {backend}");
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public void Gemv_bf16_launcher_matches_reference(KernelBackend backend)
    {
        using var device = Open(backend);
        const int rows = 70, cols = 520, batch = 2;
        var random = new Random(12);
        var (bits, _) = RandomTensors.Bf16(random, rows * cols);
        float[] input = RandomTensors.Uniform(random, batch * cols);
        double[] expected = GemvReference.Multiply(LinearWeightsReference.DecodeBf16(bits), rows, cols, input, batch);

        using var w = device.Allocate<ushort>(bits.Length);
        w.View.CopyFromCPU(bits);
        using var x = Upload(device, input);
        using var y = device.Allocate<float>(batch * rows);
        GemvKernels.LaunchGemv(device, new Bf16Rows(w.View), x.View, y.View, rows, cols, batch);
        device.Synchronize();

        Tolerance.AssertClose(expected, y.GetAsArray1D(), KernelSharp.Kernels.Tests.Linear.GemvTests.LinearTolerance(cols), $"LaunchGemvBf16 on {backend}");
    }

    private static KernelDevice Open(KernelBackend backend)
    {
        try
        {
            return KernelDevice.Create(backend);
        }
        catch (Exception e) when (backend is KernelBackend.Cuda or KernelBackend.OpenCL)
        {
            Skip.If(true, $"{backend} unavailable: {e.Message}");
            throw;
        }
    }

    private static MemoryBuffer1D<float, Stride1D.Dense> Upload(KernelDevice device, float[] host)
    {
        var buffer = device.Allocate<float>(host.Length);
        buffer.View.CopyFromCPU(host);
        return buffer;
    }
}
