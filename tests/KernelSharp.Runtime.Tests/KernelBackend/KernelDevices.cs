using KernelSharp.Dsl.Launch;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>Which kernel backends this machine has, for the tests that skip without a GPU.</summary>
internal static class KernelDevices
{
    /// <summary>Null when a device of <paramref name="kind"/> can be created here, else why not.</summary>
    public static string? UnavailableReason(KernelBackend kind)
    {
        try
        {
            using var device = KernelDevice.Create(kind);
            return device.Accelerator.AcceleratorType == ILGPU.Runtime.AcceleratorType.CPU && kind is KernelBackend.Cuda or KernelBackend.OpenCL
                ? $"{kind} is only a CPU device here"
                : null;
        }
        catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or TypeInitializationException or ILGPU.Runtime.AcceleratorException)
        {
            return $"no {kind} device: {e.Message}";
        }
    }
}
