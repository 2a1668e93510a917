using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using Xunit;

namespace KernelSharp.Dsl.Tests;

/// <summary>A kernel ILGPU cannot compile reaches the user with the kernel, the device and the real cause first.</summary>
public sealed class KernelCompilationErrorTests
{
    [Fact]
    public void The_innermost_specific_message_comes_first_and_the_chain_is_kept()
    {
        var root = new NotSupportedException("Class type 'Helper' is not supported");
        var wrapped = new InvalidOperationException("An internal compiler error has been detected in method Bad", new AggregateException(root));
        using var device = KernelDevice.Create(KernelBackend.IlgpuCpu);
        var error = Assert.Throws<KernelCompilationException>(() => device.GetOrLoadKernel<object>("Bad__v1", _ => throw wrapped));
        Assert.Equal($"kernel Bad__v1 cannot be compiled for {device.Name}: Class type 'Helper' is not supported", error.Message);
        Assert.Same(wrapped, error.InnerException);
        Assert.Equal(0, device.CachedKernelCount);
    }

    [Fact]
    public void A_real_ilgpu_compile_failure_names_its_cause()
    {
        using var device = KernelDevice.Create(KernelBackend.IlgpuCpu);
        var error = Assert.Throws<KernelCompilationException>(() => device.GetOrLoadKernel("UsesAClass", accelerator =>
            accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>>(UsesAClass)));
        Assert.StartsWith($"kernel UsesAClass cannot be compiled for {device.Name}: ", error.Message);
        Assert.DoesNotContain("An internal compiler error has been detected", error.Message);
    }

    private sealed class Helper
    {
        public int Value = 3;
    }

    private static void UsesAClass(Index1D index, ArrayView<int> output)
    {
        var helper = new Helper();
        output[index] = helper.Value;
    }
}
