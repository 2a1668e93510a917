using ILGPU;
using ILGPU.Backends;
using ILGPU.Runtime;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// Turns resource failures that are not bugs of the user's input (device memory exhausted, a kernel the device
/// cannot compile) into one line that says what happened and what to try instead.
/// </summary>
public static class FailureAdvice
{
    /// <summary>The advice line for <paramref name="failure"/>, or null when it is not a known resource failure.</summary>
    public static string? For(Exception failure)
    {
        string detail = failure.Message.ReplaceLineEndings(" ").Trim();
        return failure switch
        {
            OutOfMemoryException or InsufficientExecutionStackException =>
                $"out of host memory ({detail}); try a smaller context (-c), a smaller model, or close other programs",
            AcceleratorException when detail.Contains("memory", StringComparison.OrdinalIgnoreCase) =>
                $"the GPU ran out of memory ({detail}); try a smaller context (-c), fewer layers on the GPU, or --device cpu",
            InternalCompilerException or InvalidCodeGenerationException or NotSupportedIntrinsicException or CapabilityNotSupportedException =>
                $"a kernel failed to compile for this device ({detail}); try --device cpu, and run with --verbose to see which kernel",
            AcceleratorException =>
                $"the accelerator failed ({detail}); try --device cpu, or check the driver with 'kernelsharp devices'",
            _ => null,
        };
    }
}
