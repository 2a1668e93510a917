using KernelSharp.Dsl.Launch;

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

    public static KernelDevice Get(KernelBackend backend) => backend switch
    {
        KernelBackend.FastCpu => FastCpu,
        KernelBackend.IlgpuCpu => IlgpuCpu,
        _ => throw new ArgumentOutOfRangeException(nameof(backend)),
    };
}
