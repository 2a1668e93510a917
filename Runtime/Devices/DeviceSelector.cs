using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Cpu;

namespace KernelSharp.Runtime.Devices;

/// <summary>
/// Picks where the model runs: CUDA, then OpenCL, then the fast CPU path, unless the user names one
/// ("auto" | "cuda" | "opencl" | "cpu" | "ilgpu-cpu"). Only the CPU backend of the model exists so far: a GPU that is
/// found or requested is reported and the model falls back to the CPU, saying so in the choice's note.
/// </summary>
public sealed class DeviceSelector(IGpuProbe probe)
{
    public static readonly IReadOnlyList<string> Names = ["auto", "cuda", "opencl", "cpu", "ilgpu-cpu"];

    public DeviceSelector()
        : this(new IlgpuGpuProbe())
    {
    }

    /// <summary>Chooses a device for <paramref name="request"/>; an unknown name is a <see cref="UserInputException"/>.</summary>
    public DeviceChoice Select(string? request)
    {
        var name = (request ?? "auto").Trim().ToLowerInvariant();
        switch (name)
        {
            case "cpu":
                return new DeviceChoice(ComputeDevice.FastCpu, "host CPU", null);
            case "ilgpu-cpu":
                return new DeviceChoice(ComputeDevice.FastCpu, "host CPU", "the ILGPU CPU accelerator is not wired to the model yet; using FastCpu");
            case "auto":
            case "cuda":
            case "opencl":
                break;
            default:
                throw new UserInputException($"device '{request}' is not known; expected one of {string.Join(", ", Names)}");
        }

        var gpus = probe.FindGpus();
        var wanted = name switch
        {
            "cuda" => gpus.FirstOrDefault(g => g.Kind == ComputeDevice.Cuda),
            "opencl" => gpus.FirstOrDefault(g => g.Kind == ComputeDevice.OpenCL),
            _ => gpus.FirstOrDefault(g => g.Kind == ComputeDevice.Cuda) ?? gpus.FirstOrDefault(g => g.Kind == ComputeDevice.OpenCL),
        };
        if (wanted is null)
        {
            var note = name == "auto" ? null : $"no {name} device found; using the CPU";
            return new DeviceChoice(ComputeDevice.FastCpu, "host CPU", note);
        }

        // Do not pretend: the GPU exists but the model has no GPU backend yet.
        return new DeviceChoice(ComputeDevice.FastCpu, "host CPU",
            $"{wanted.Kind} device '{wanted.Name}' found, but the GPU backend of the model is not implemented yet; running on the CPU");
    }

    /// <summary>The backend that runs on <paramref name="choice"/>.</summary>
    public static IModelBackend CreateBackend(DeviceChoice choice) => choice.Device switch
    {
        ComputeDevice.FastCpu => new CpuBackend(),
        _ => throw new NotSupportedException($"no model backend for {choice.Device} yet"),
    };
}
