using KernelSharp.Dsl.Launch;
using Xunit;

namespace KernelSharp.Generators.Tests.Infrastructure;

/// <summary>
/// Devices shared by the execution tests (a CPU accelerator starts many threads; one of each kind is enough). The
/// autotuner writes into a temporary file, never into the user's cache folder.
/// </summary>
internal static class TestDevices
{
    private static readonly Lazy<KernelDevice> fastCpu = new(() => KernelDevice.Create(KernelBackend.FastCpu));
    private static readonly Lazy<KernelDevice> ilgpuCpu = new(() => KernelDevice.Create(KernelBackend.IlgpuCpu));

    public static readonly string AutotuneFile = Path.Combine(Path.GetTempPath(), "kernelsharp-tests-" + Environment.ProcessId + "-autotune.json");

    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void UseTemporaryAutotuneFile() => Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE", AutotuneFile);

    public static KernelDevice FastCpu => fastCpu.Value;

    public static KernelDevice IlgpuCpu => ilgpuCpu.Value;

    private static readonly Lazy<KernelDevice?> cuda = new(() => TryCreate(KernelBackend.Cuda));
    private static readonly Lazy<KernelDevice?> openCL = new(() => TryCreate(KernelBackend.OpenCL));

    /// <summary>The shared device of a backend; GPU backends skip the calling test when this machine has none.</summary>
    public static KernelDevice Get(KernelBackend backend)
    {
        switch (backend)
        {
            case KernelBackend.FastCpu:
                return FastCpu;
            case KernelBackend.IlgpuCpu:
                return IlgpuCpu;
            default:
                var device = backend == KernelBackend.Cuda ? cuda.Value : openCL.Value;
                Skip.If(device == null, $"no {backend} device on this machine");
                return device!;
        }
    }

    private static KernelDevice? TryCreate(KernelBackend backend)
    {
        try
        {
            var device = KernelDevice.Create(backend);
            if (device.Accelerator.AcceleratorType != ILGPU.Runtime.AcceleratorType.CPU)
                return device;
            device.Dispose(); // an OpenCL CPU driver is no GPU
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or TypeInitializationException)
        {
            return null;
        }
    }
}
