using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Cpu;
using KernelSharp.Runtime.Model.Kernels;

namespace KernelSharp.Runtime.Devices;

/// <summary>
/// Picks where the model runs: CUDA, then OpenCL, then the fast CPU path, unless the user names one
/// ("auto" | "cuda" | "opencl" | "cpu" | "cpu-kernels" | "ilgpu-cpu"). GPUs (and the ILGPU CPU accelerator, a kernel
/// debugger) run the model on the kernel library (<see cref="KernelModelBackend"/>); "cpu" runs it on
/// <see cref="CpuBackend"/>, the TensorPrimitives path; "cpu-kernels" runs the kernel library's generated CPU path on the
/// host (the same code as the GPUs; weights as stored), measured against "cpu" in docs/perf/cpu-path.md.
/// </summary>
public sealed class DeviceSelector(IGpuProbe probe)
{
    public static readonly IReadOnlyList<string> Names = ["auto", "cuda", "opencl", "cpu", "cpu-kernels", "ilgpu-cpu"];

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
            case "cpu-kernels":
                return new DeviceChoice(ComputeDevice.KernelCpu, "host CPU (generated kernel path)", null);
            case "ilgpu-cpu":
                return new DeviceChoice(ComputeDevice.IlgpuCpu, "ILGPU CPU accelerator", null);
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

        return new DeviceChoice(wanted.Kind, wanted.Name, null);
    }

    /// <summary>
    /// The backend that runs on <paramref name="choice"/>; <paramref name="prefillMatmul"/> reaches the kernel backends
    /// (the "cpu" backend always prefills in fp32).
    /// </summary>
    public static IModelBackend CreateBackend(DeviceChoice choice, PrefillMatmul prefillMatmul = PrefillMatmul.Exact) => choice.Device switch
    {
        ComputeDevice.FastCpu => new CpuBackend(),
        ComputeDevice.Cuda => CreateKernelBackend(KernelBackend.Cuda, prefillMatmul),
        ComputeDevice.OpenCL => CreateKernelBackend(KernelBackend.OpenCL, prefillMatmul),
        ComputeDevice.IlgpuCpu => CreateKernelBackend(KernelBackend.IlgpuCpu, prefillMatmul),
        ComputeDevice.KernelCpu => CreateKernelBackend(KernelBackend.FastCpu, prefillMatmul),
        _ => throw new NotSupportedException($"no model backend for {choice.Device}"),
    };

    private static KernelModelBackend CreateKernelBackend(KernelBackend kind, PrefillMatmul prefillMatmul)
    {
        var backend = KernelModelBackend.Create(kind);
        backend.PrefillMatmul = prefillMatmul;
        return backend;
    }
}
