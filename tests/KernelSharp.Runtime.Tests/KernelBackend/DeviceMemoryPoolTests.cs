using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model.Kernels;
using KernelSharp.Runtime.Tests.Model;
using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>The kernel backend's caching allocator: size classes, reuse of returned buffers, and its bound.</summary>
public sealed class DeviceMemoryPoolTests
{
    [Fact]
    public void Size_classes_cover_the_request_with_at_most_an_eighth_of_slack()
    {
        var random = new RandomData();
        long previousLength = 0, previousClass = 0;
        foreach (var length in Enumerable.Range(0, 2000).Select(_ => (long)Math.Exp((random.Next(2_000_000) + 1) / 1e5)).Order())
        {
            var sizeClass = DeviceMemoryPool.SizeClass(length);
            Assert.True(sizeClass >= length, $"{random}: class {sizeClass} < {length}");
            Assert.True(sizeClass <= Math.Max(64, length + length / 8), $"{random}: class {sizeClass} wastes more than 1/8 of {length}");
            Assert.Equal(sizeClass, DeviceMemoryPool.SizeClass(sizeClass)); // a class is its own class: a returned buffer is found again
            Assert.True(length == previousLength || sizeClass >= previousClass, $"{random}: classes not monotone at {length}");
            (previousLength, previousClass) = (length, sizeClass);
        }

        Assert.True(new[] { 1000L, 1010, 1024 }.Select(DeviceMemoryPool.SizeClass).Distinct().Count() == 1, "nearby lengths must share a class");
    }

    [Fact]
    public void A_returned_buffer_serves_the_next_request_of_its_class_and_type()
    {
        using var device = KernelDevice.Create(KernelBackend.IlgpuCpu);
        using var pool = new DeviceMemoryPool(device);

        var first = pool.Rent<float>(1000);
        pool.Return(first);
        var second = pool.Rent<float>(1010);
        Assert.Same(first, second);
        var other = pool.Rent<int>(1000); // another element type never shares a buffer
        Assert.NotSame((object)first, other);
        Assert.Equal(2, pool.AllocationCount);
        Assert.Equal(1, pool.ReuseCount);

        pool.Return(second);
        pool.Return(other);
        Assert.Equal(1024 * 4 * 2, pool.IdleBytes);
        pool.FreeIdle();
        Assert.Equal(0, pool.IdleBytes);
        pool.Rent<float>(1000).Dispose();
        Assert.Equal(3, pool.AllocationCount);
    }

    [Fact]
    public void Idle_buffers_past_the_limit_are_freed()
    {
        using var device = KernelDevice.Create(KernelBackend.IlgpuCpu);
        using var pool = new DeviceMemoryPool(device, idleBytesLimit: 3 * 4096);

        var buffers = Enumerable.Range(0, 4).Select(_ => pool.Rent<float>(1024)).ToList(); // 4 × 4 KiB
        foreach (var buffer in buffers.Take(3))
        {
            pool.Return(buffer);
        }

        Assert.Equal(3 * 4096, pool.IdleBytes);
        pool.Return(buffers[3]); // 16 KiB idle > 12 KiB: everything idle is freed
        Assert.Equal(0, pool.IdleBytes);
        Assert.True(buffers.All(b => b.IsDisposed), "freed buffers must be disposed");
    }
}
