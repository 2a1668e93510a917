using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;

namespace KernelSharp.Cli.Verbs;

/// <summary><c>kernelsharp devices</c>: the accelerators ILGPU finds (CUDA, OpenCL) and the host CPU, with memory and capabilities.</summary>
public sealed class DevicesVerb : IVerb
{
    public VerbSpec Spec { get; } = new(
        "devices",
        "List the accelerators found (CUDA, OpenCL, CPU) with memory and capabilities.",
        "[options]",
        "--device auto picks the first CUDA device, else the first OpenCL device, else the CPU. Each CUDA GPU shows its device number, which --gpus takes. The last line says whether NCCL (multi-GPU collectives, needed by --gpus) was found, and where.",
        []);

    public int Run(ParsedArguments args, CliContext context)
    {
        TextWriter output = context.Out;
        int index = 0;
        try
        {
            using Context ilgpu = Context.Create(builder => builder.AllAccelerators());
            foreach (Device device in ilgpu.Devices.Where(d => d.AcceleratorType is AcceleratorType.Cuda or AcceleratorType.OpenCL))
            {
                output.WriteLine($"[{index++}] {device.AcceleratorType}: {device.Name}");
                output.WriteLine($"    memory {Sizes.Bytes(device.MemorySize)}, {device.NumMultiprocessors} multiprocessors, warp {device.WarpSize}, " +
                                 $"max group {device.MaxNumThreadsPerGroup} threads, shared memory per group {Sizes.Bytes(device.MaxSharedMemoryPerGroup)}");
                switch (device)
                {
                    case CudaDevice cuda:
                        output.WriteLine($"    CUDA device {cuda.DeviceId} (the number --gpus takes), compute capability {cuda.Architecture}, PTX {cuda.InstructionSet}, driver {cuda.DriverVersion}");
                        break;
                    case CLDevice openCl:
                        output.WriteLine($"    platform {openCl.PlatformName}, vendor {openCl.VendorName}, {openCl.DeviceVersion}");
                        break;
                }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or InvalidOperationException or NotSupportedException)
        {
            // A broken or missing GPU driver means "no GPU", as for the runtime's own probe; the CPU is still listed.
            output.WriteLine($"(GPU drivers could not be queried: {e.Message.ReplaceLineEndings(" ")})");
        }
        if (index == 0)
        {
            output.WriteLine("(no CUDA or OpenCL device found)");
        }
        GCMemoryInfo memory = GC.GetGCMemoryInfo();
        output.WriteLine($"[{index}] CPU: {Environment.ProcessorCount} logical cores, " +
                         $"{Sizes.Bytes(memory.TotalAvailableMemoryBytes)} memory available, SIMD width {System.Numerics.Vector<float>.Count} floats");
        output.WriteLine(KernelSharp.Runtime.Distributed.NcclLibrary.TryLoad(out string problem) is { } nccl
            ? $"NCCL {nccl.VersionText}: {nccl.Path}"
            : $"NCCL: not found ({problem})");
        return ExitCodes.Success;
    }
}
