namespace KernelSharp.Runtime.Devices;

/// <summary>Where the model's math runs.</summary>
public enum ComputeDevice
{
    /// <summary>NVIDIA GPU through ILGPU's CUDA backend.</summary>
    Cuda,

    /// <summary>Any OpenCL 2.0+ GPU through ILGPU's OpenCL backend.</summary>
    OpenCL,

    /// <summary>The host CPU running the kernel library's generated CPU path (host threads across groups, SIMD in the
    /// bodies) with weights kept as stored: the GPU's kernels, on the CPU.</summary>
    FastCpu,

    /// <summary>ILGPU's CPU accelerator (a kernel debugger: slow, used only on request).</summary>
    IlgpuCpu,
}
