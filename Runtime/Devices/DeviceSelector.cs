using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Kernels;

namespace KernelSharp.Runtime.Devices;

/// <summary>
/// Picks where the model runs: CUDA, then OpenCL, then the CPU, unless the user names one
/// ("auto" | "cuda" | "opencl" | "cpu" | "ilgpu-cpu"); a named GPU kind that is missing is an error, not a fallback.
/// The one device policy: the CLI, the server and the chat client all choose through it. Every device runs the model on
/// the kernel library (<see cref="KernelModelBackend"/>): "cpu" on its generated CPU path (host threads, SIMD, weights
/// as stored), "ilgpu-cpu" on ILGPU's CPU accelerator (a kernel debugger that runs the GPU bodies).
/// </summary>
public sealed class DeviceSelector(IGpuProbe probe)
{
    public static readonly IReadOnlyList<string> Names = ["auto", "cuda", "opencl", "cpu", "ilgpu-cpu"];

    public DeviceSelector()
        : this(new IlgpuGpuProbe())
    {
    }

    /// <summary>
    /// Chooses a device for <paramref name="request"/>; an unknown name, or "cuda" / "opencl" on a machine without such
    /// a device, is a <see cref="UserInputException"/>. Only GPU requests probe the drivers.
    /// </summary>
    public DeviceChoice Select(string? request)
    {
        var name = (request ?? "auto").Trim().ToLowerInvariant();
        switch (name)
        {
            case "cpu":
                return new DeviceChoice(ComputeDevice.FastCpu, "host CPU");
            case "ilgpu-cpu":
                return new DeviceChoice(ComputeDevice.IlgpuCpu, "ILGPU CPU accelerator");
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
        if (wanted is not null)
        {
            return new DeviceChoice(wanted.Kind, wanted.Name);
        }
        if (name == "auto")
        {
            return new DeviceChoice(ComputeDevice.FastCpu, "host CPU");
        }

        // A device asked for by name is not swapped for a slower one behind the caller's back: "auto" is the fallback.
        var kind = name == "cuda" ? "CUDA" : "OpenCL";
        var found = gpus.Count == 0 ? "no GPU was found" : "found only " + string.Join(", ", gpus.Select(g => $"{g.Kind} '{g.Name}'"));
        throw new UserInputException($"device {name}: no {kind} device on this machine ({found}); use auto (CUDA, then OpenCL, then the CPU) or cpu");
    }

    /// <summary>
    /// How a prompt's linear layers multiply on <paramref name="device"/> when the caller does not say: on CUDA GPUs with
    /// bf16 activations on the tensor cores, as transformers' bf16, vLLM and llama.cpp prefill (the contract it meets
    /// against the float32 reference is tested with the fixtures); elsewhere in fp32. OpenCL has no tensor-core
    /// instructions here, the ILGPU CPU accelerator would emulate every lane of them, and the CPU prefills in fp32.
    /// </summary>
    public static PrefillMatmul DefaultPrefill(ComputeDevice device) =>
        device == ComputeDevice.Cuda ? PrefillMatmul.TensorCores : PrefillMatmul.Exact;

    /// <summary>
    /// The backend that runs on <paramref name="choice"/>, with <paramref name="prefillMatmul"/> for the prompt's
    /// projections (null: <see cref="DefaultPrefill"/>; on the CPU prompts run in fp32 whatever it says).
    /// </summary>
    public static IModelBackend CreateBackend(DeviceChoice choice, PrefillMatmul? prefillMatmul = null) => CreateBackend(choice, prefillMatmul, 0);

    /// <summary>As <see cref="CreateBackend(DeviceChoice, PrefillMatmul?)"/> on GPU number <paramref name="gpu"/> of the chosen kind (CUDA's device ordinal).</summary>
    public static IModelBackend CreateBackend(DeviceChoice choice, PrefillMatmul? prefillMatmul, int gpu)
    {
        var prefill = prefillMatmul ?? DefaultPrefill(choice.Device);
        return choice.Device switch
        {
            ComputeDevice.FastCpu => CreateKernelBackend(KernelBackend.FastCpu, prefill, 0),
            ComputeDevice.Cuda => CreateKernelBackend(KernelBackend.Cuda, prefill, gpu),
            ComputeDevice.OpenCL => CreateKernelBackend(KernelBackend.OpenCL, prefill, gpu),
            ComputeDevice.IlgpuCpu => CreateKernelBackend(KernelBackend.IlgpuCpu, prefill, 0),
            _ => throw new NotSupportedException($"no model backend for {choice.Device}"),
        };
    }

    private static KernelModelBackend CreateKernelBackend(KernelBackend kind, PrefillMatmul prefillMatmul, int ordinal)
    {
        KernelModelBackend backend;
        try
        {
            backend = KernelModelBackend.Create(kind, ordinal);
        }
        catch (InvalidOperationException e) when (ordinal > 0)
        {
            throw new UserInputException($"GPU {ordinal}: {e.Message}");
        }

        backend.PrefillMatmul = kind == KernelBackend.FastCpu ? PrefillMatmul.Exact : prefillMatmul; // the CPU prefills in fp32
        return backend;
    }
}
