using KernelSharp.Runtime.Devices;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Kernels;
using Xunit;

namespace KernelSharp.Runtime.Tests.Model;

/// <summary>Device choice order: CUDA, then OpenCL, then the CPU; explicit requests are honoured or refused, never swapped.</summary>
public sealed class DeviceSelectorTests
{
    private static readonly GpuInfo H200 = new(ComputeDevice.Cuda, "NVIDIA H200", 141L << 30);
    private static readonly GpuInfo Radeon = new(ComputeDevice.OpenCL, "gfx1100", 24L << 30);

    [Fact]
    public void Auto_without_a_gpu_picks_the_fast_cpu_path()
    {
        var choice = new DeviceSelector(new FakeProbe()).Select("auto");

        Assert.Equal(ComputeDevice.FastCpu, choice.Device);
    }

    [Fact]
    public void Auto_prefers_cuda_over_opencl()
    {
        var choice = new DeviceSelector(new FakeProbe(Radeon, H200)).Select(null);

        Assert.Equal(ComputeDevice.Cuda, choice.Device);
        Assert.Equal("NVIDIA H200", choice.DeviceName);
    }

    [Theory]
    [InlineData("opencl", ComputeDevice.OpenCL, "gfx1100")]
    [InlineData("CUDA", ComputeDevice.Cuda, "NVIDIA H200")]
    public void An_explicit_gpu_request_picks_that_device(string request, ComputeDevice expected, string name)
    {
        var choice = new DeviceSelector(new FakeProbe(Radeon, H200)).Select(request);

        Assert.Equal(expected, choice.Device);
        Assert.Equal(name, choice.DeviceName);
    }

    [Fact]
    public void An_explicit_request_for_a_missing_gpu_is_refused_with_what_was_found()
    {
        var error = Assert.Throws<UserInputException>(() => new DeviceSelector(new FakeProbe(Radeon)).Select("cuda"));

        Assert.Equal("device cuda: no CUDA device on this machine (found only OpenCL 'gfx1100'); use auto (CUDA, then OpenCL, then the CPU) or cpu", error.Message);
        Assert.Contains("no GPU was found", Assert.Throws<UserInputException>(() => new DeviceSelector(new FakeProbe()).Select("opencl")).Message);
    }

    [Fact]
    public void Cpu_is_used_as_asked_and_unknown_names_are_user_errors()
    {
        var probe = new FakeProbe(H200);
        Assert.Equal(ComputeDevice.FastCpu, new DeviceSelector(probe).Select("cpu").Device);
        Assert.Equal(0, probe.Calls); // a CPU request never touches the GPU drivers
        Assert.Equal(ComputeDevice.IlgpuCpu, new DeviceSelector(new FakeProbe()).Select("ilgpu-cpu").Device);
        // "cpu" runs the kernel library's generated CPU path; the name of the former separate CPU path is unknown now.
        using var backend = Assert.IsType<KernelModelBackend>(DeviceSelector.CreateBackend(new DeviceSelector(probe).Select("cpu")));
        Assert.Equal(KernelSharp.Dsl.Launch.KernelBackend.FastCpu, backend.Device.Backend);
        Assert.Throws<UserInputException>(() => new DeviceSelector(new FakeProbe()).Select("gpu0"));
        Assert.Throws<UserInputException>(() => new DeviceSelector(new FakeProbe()).Select("cpu-kernels"));
    }

    [Theory]
    [InlineData(ComputeDevice.Cuda, PrefillMatmul.TensorCores)]
    [InlineData(ComputeDevice.OpenCL, PrefillMatmul.Exact)]
    [InlineData(ComputeDevice.IlgpuCpu, PrefillMatmul.Exact)]
    [InlineData(ComputeDevice.FastCpu, PrefillMatmul.Exact)]
    public void Prompts_run_on_tensor_cores_by_default_on_cuda_only(ComputeDevice device, PrefillMatmul expected) =>
        Assert.Equal(expected, DeviceSelector.DefaultPrefill(device));

    [Theory]
    [InlineData(null)]
    [InlineData(PrefillMatmul.TensorCores)]
    public void The_cpu_backend_prefills_in_fp32_whatever_is_asked(PrefillMatmul? asked)
    {
        using var backend = Assert.IsType<KernelModelBackend>(DeviceSelector.CreateBackend(new DeviceChoice(ComputeDevice.FastCpu, "cpu"), asked));

        Assert.Equal(PrefillMatmul.Exact, backend.PrefillMatmul);
    }

    [Fact]
    public void The_ilgpu_probe_does_not_throw_on_this_machine()
    {
        var gpus = new IlgpuGpuProbe().FindGpus();

        Assert.All(gpus, g => Assert.False(string.IsNullOrEmpty(g.Name)));
    }

    private sealed class FakeProbe(params GpuInfo[] gpus) : IGpuProbe
    {
        public int Calls { get; private set; }

        public IReadOnlyList<GpuInfo> FindGpus()
        {
            Calls++;
            return gpus;
        }
    }
}
