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
    public void Past_the_limit_the_least_recently_returned_buffers_are_freed_first()
    {
        using var device = KernelDevice.Create(KernelBackend.IlgpuCpu);
        using var pool = new DeviceMemoryPool(device, idleBytesLimit: 4 * 4096);

        // Rented one at a time: the peak stays at one buffer (4 KiB), so the limit (16 KiB) bounds the idle ones.
        var buffers = new List<ILGPU.Runtime.MemoryBuffer1D<float, ILGPU.Stride1D.Dense>>();
        for (int i = 0; i < 4; i++)
        {
            var buffer = pool.Rent<float>(1024 + 128 * i); // four classes of 4 KiB and more
            buffers.Add(buffer);
            pool.Return(buffer);
        }

        // 4 + 4.5 + 5 + 5.5 KiB = 19 KiB idle > 16 KiB at the fourth return: the oldest go until ≤ 12 KiB stay.
        Assert.True(buffers[0].IsDisposed && buffers[1].IsDisposed, "the two oldest must be freed");
        Assert.False(buffers[2].IsDisposed || buffers[3].IsDisposed, "the newest must stay");
        Assert.Equal(2, pool.FreedCount);
        Assert.Equal(5120 + 5632, pool.IdleBytes);
        Assert.Same(buffers[3], pool.Rent<float>(1024 + 128 * 3)); // still served from the pool
    }

    [Fact]
    public void A_working_set_larger_than_the_limit_is_kept_between_steps()
    {
        using var device = KernelDevice.Create(KernelBackend.IlgpuCpu);
        using var pool = new DeviceMemoryPool(device, idleBytesLimit: 2 * 4096);

        for (int step = 0; step < 4; step++)
        {
            // A step holding six 4 KiB buffers at once (three times the limit), all returned at its end.
            var held = Enumerable.Range(0, 6).Select(i => pool.Rent<float>(1024)).ToList();
            held.ForEach(pool.Return);
        }

        Assert.Equal(6, pool.AllocationCount); // the first step's; the others reuse them
        Assert.Equal(0, pool.FreedCount);
        Assert.Equal(6 * 4096, pool.PeakRentedBytes);
        Assert.Equal(0, pool.RentedBytes);

        // Buffers of a class the steps do not use, returned afterwards, push the idle bytes past the working set: the
        // least recently returned go first, which are the step's own buffers here, until at most 3/4 of the bound
        // (18 KiB) stays: all six (40 KiB − 24 KiB = 16 KiB).
        var other = pool.Rent<int>(4096);
        pool.Return(other);
        Assert.Equal(6, pool.FreedCount);
        Assert.Equal(16384, pool.IdleBytes);
        Assert.False(other.IsDisposed, "the newest idle buffer must stay");
    }

    [Fact]
    public void A_refused_allocation_frees_the_idle_buffers_tries_again_and_counts_nothing()
    {
        using var device = KernelDevice.Create(KernelBackend.IlgpuCpu);
        using var pool = new DeviceMemoryPool(device);
        var idle = pool.Rent<float>(1024);
        pool.Return(idle);

        // 256 TiB: more than a 64-bit process's address space (128 TiB on x86-64 Linux), so both tries are refused
        // whatever the machine's overcommit policy.
        Assert.ThrowsAny<Exception>(() => pool.Rent<float>(1L << 46));

        Assert.True(idle.IsDisposed, "the idle buffer must be freed before the second try");
        Assert.Equal(1, pool.FreedCount);
        Assert.Equal(1, pool.AllocationCount); // the refused request made no allocation
        Assert.Equal(0, pool.RentedBytes);     // and rents nothing
    }
}
