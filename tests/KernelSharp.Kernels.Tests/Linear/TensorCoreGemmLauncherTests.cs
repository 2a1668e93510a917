using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Linear;

/// <summary>
/// The generated launcher of the tensor-core GEMM, bf16 and fp8 weights (what a caller uses: on CUDA the autotuner picks the
/// group tile, on FastCpu the CPU path runs) against the float64 reference, on a shape with edges in m, n and k (for
/// fp8 also a partial 128-column scale block).
/// </summary>
public sealed class TensorCoreGemmLauncherTests
{
    static TensorCoreGemmLauncherTests()
    {
        // The autotuner persists its choices; keep them out of the user's cache folder.
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE",
            Path.Combine(Path.GetTempPath(), $"ks-kernels-tests-autotune-{Environment.ProcessId}.json"));
    }

    public static TheoryData<KernelBackend> Backends => new() { KernelBackend.FastCpu, KernelBackend.Cuda };

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public void Bf16_launcher_matches_reference(KernelBackend backend)
    {
        const int m = 200, n = 300, k = 104;
        using var device = Open(backend);
        var random = new Random(77);
        var (a, _) = RandomTensors.Bf16(random, m * k);
        var (weight, _) = RandomTensors.Bf16(random, n * k);
        double[] expected = TensorCoreGemmReference.MultiplyBf16(a, weight, m, n, k);

        using var av = Upload(device, a);
        using var wv = Upload(device, weight);
        using var cv = device.Allocate<float>(m * n);
        TensorCoreGemmKernels.LaunchTensorCoreGemm(device, av.View, new Bf16Rows(wv.View), new BatchItems(m), cv.View, (m + 127) / 128, n, k);
        device.Synchronize();

        Tolerance.AssertClose(expected, cv.GetAsArray1D(), new Tolerance(1e-4, 2e-6 * k), $"LaunchTensorCoreGemm (bf16) on {backend}");
    }

    [SkippableTheory]
    [MemberData(nameof(Backends))]
    public void Fp8_launcher_matches_reference(KernelBackend backend)
    {
        const int m = 200, n = 300, k = 272;
        using var device = Open(backend);
        var random = new Random(78);
        var (a, _) = RandomTensors.Bf16(random, m * k);
        var (weight, scaleInv, _) = RandomTensors.Fp8BlockScaled(random, n, k);
        // Weights rounded to bf16 as the kernel does (TensorCoreGemmConversionTests checks that conversion exactly).
        double[] expected = TensorCoreGemmReference.MultiplyFp8RoundedToBf16(a, weight, scaleInv, m, n, k);

        using var av = Upload(device, a);
        using var wv = Upload(device, weight);
        using var sv = Upload(device, scaleInv);
        using var cv = device.Allocate<float>(m * n);
        TensorCoreGemmKernels.LaunchTensorCoreGemm(device, av.View, new Fp8BlockRows(wv.View, sv.View), new BatchItems(m), cv.View, (m + 127) / 128, n, k);
        device.Synchronize();

        Tolerance.AssertClose(expected, cv.GetAsArray1D(), new Tolerance(1e-4, 2e-6 * k), $"LaunchTensorCoreGemm (fp8) on {backend}");
    }

    private static KernelDevice Open(KernelBackend backend)
    {
        try
        {
            return KernelDevice.Create(backend);
        }
        catch (Exception e) when (backend is KernelBackend.Cuda)
        {
            Skip.If(true, $"{backend} unavailable: {e.Message}");
            throw;
        }
    }

    private static MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(KernelDevice device, T[] host) where T : unmanaged
    {
        var buffer = device.Allocate<T>(host.Length);
        buffer.View.CopyFromCPU(host);
        return buffer;
    }
}
