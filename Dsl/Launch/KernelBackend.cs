namespace KernelSharp.Dsl.Launch;

/// <summary>Where a <see cref="KernelDevice"/> runs kernels.</summary>
public enum KernelBackend
{
    /// <summary>The generated CPU path (<c>NameCpu</c>): a <c>Parallel.For</c> over groups, threads of a group run in turn.
    /// Memory lives on ILGPU's CPU accelerator; kernels without a CPU path fall back to that accelerator.</summary>
    FastCpu,

    /// <summary>ILGPU's CPU accelerator (one OS thread per GPU thread, a 32-lane warp): slow, for debugging kernels.</summary>
    IlgpuCpu,

    /// <summary>An NVIDIA GPU through ILGPU's CUDA backend.</summary>
    Cuda,

    /// <summary>An OpenCL device through ILGPU's OpenCL backend.</summary>
    OpenCL,
}
