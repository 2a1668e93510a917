using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using Xunit;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// A <see cref="KernelDevice"/> drops ILGPU's intermediate representation once a kernel is compiled: the IR of a large
/// kernel is megabytes of live objects that every full garbage collection would otherwise walk for the rest of the
/// process. Checked on the ILGPU CPU accelerator (which compiles through the same IR as CUDA) with a large kernel; the
/// heap is the whole process's, so the test runs alone (its collection is not parallelized with the others).
/// </summary>
[Collection(Name)]
public sealed class CompiledIrTests
{
    public const string Name = "managed heap measured alone";

    [Fact]
    public void Compiling_kernels_leaves_no_IR_on_the_managed_heap()
    {
        using var device = KernelDevice.Create(KernelBackend.IlgpuCpu);
        using var weights = device.Allocate<ushort>(8 * 128);  // [8, 128] bf16 (zeros)
        using var split = device.Allocate<uint>(128);          // [1, 128]
        using var output = device.Allocate<float>(8);
        using var slices = device.Allocate<float>(16);
        GemvKernels.LaunchSumKSlices(device, slices.View, output.View, 8, 2); // ILGPU's one-time state, before measuring
        device.Synchronize();
        long before = GC.GetTotalMemory(forceFullCollection: true);

        GemvKernels.LaunchTensorCoreGemv(device, new Bf16Rows(weights.View), new BatchItems(1), split.View, output.View, 8, 128, 1, 1, 0, 1);
        device.Synchronize();
        long after = GC.GetTotalMemory(forceFullCollection: true);

        Assert.True(after - before < 4 << 20, $"the heap grew by {(after - before) / 1e6:F1} MB over one compiled kernel");
    }
}

[CollectionDefinition(CompiledIrTests.Name, DisableParallelization = true)]
public sealed class ManagedHeapMeasuredAlone;

