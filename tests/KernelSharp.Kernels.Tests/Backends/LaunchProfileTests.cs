using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Tensors;
using Xunit;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>The KS_PROFILE launch profile charges each generated launch to its kernel, and a paused profile charges nothing.</summary>
public sealed class LaunchProfileTests
{
    [Theory]
    [InlineData(KernelBackend.IlgpuCpu)]
    [InlineData(KernelBackend.FastCpu)] // generated CPU-path launches are charged too
    public void Counts_launches_per_kernel_and_ignores_paused_regions(KernelBackend backend)
    {
        using var device = KernelDevice.Create(backend);
        var profile = new LaunchProfile();
        device.Profile = profile;
        using var a = device.Allocate<float>(64); // [64]
        using var b = device.Allocate<float>(64); // [64]

        for (int i = 0; i < 3; i++)
            TensorKernels.LaunchFillFloat(device, a.View, i, 64);
        TensorKernels.LaunchFillFloat(device, b.View, 1f, 64);
        TensorKernels.LaunchAddInPlace(device, a.View, b.View, 64);
        profile.Pause();
        TensorKernels.LaunchAddInPlace(device, a.View, b.View, 64); // not charged
        profile.Resume();
        TensorKernels.LaunchAddInPlace(device, a.View, b.View, 64);
        profile.Pause();

        string table = profile.Format(steps: 1);
        Assert.Contains("| TensorKernels.FillFloat | 4 |", table);
        Assert.Contains("| TensorKernels.AddInPlace | 2 |", table);
        Assert.Contains("| all (2 kernels) | 6 |", table);
        Assert.Equal(5f, a.GetAsArray1D()[17]); // 2 + three additions of 1
    }
}
