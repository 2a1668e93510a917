using KernelSharp.Runtime;
using KernelSharp.Runtime.Devices;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// An explicit --device cuda|opencl on a machine without such a device is an error with a suggestion, not a silent
/// fall-back: the user asked for that device by name. ("auto" falls back to the CPU by design.)
/// </summary>
public static class DeviceCheck
{
    public static void EnsureAvailable(string device, IGpuProbe? probe = null)
    {
        ComputeDevice? wanted = device switch
        {
            "cuda" => ComputeDevice.Cuda,
            "opencl" => ComputeDevice.OpenCL,
            _ => null,
        };
        if (wanted is null)
        {
            return;
        }
        IReadOnlyList<GpuInfo> gpus = (probe ?? new IlgpuGpuProbe()).FindGpus();
        if (!gpus.Any(g => g.Kind == wanted))
        {
            string found = gpus.Count == 0 ? "no GPU was found" : "found only " + string.Join(", ", gpus.Select(g => $"{g.Kind} '{g.Name}'"));
            throw new UserInputException(
                $"--device {device}: no {wanted} device on this machine ({found}); use --device auto or --device cpu, and see 'kernelsharp devices'");
        }
    }
}
