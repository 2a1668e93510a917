using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Tests.Golden;
using Xunit;
using Xunit.Abstractions;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// A decode step of the kernel backend allocates no new device memory once the previous step has filled the pool:
/// every working buffer (activations, scratch, index uploads) is a reused one. On a GPU each new allocation is a
/// cuMemAlloc; before the pool every request below was one.
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class DecodeAllocationTests(KernelBackendFixture backends, ITestOutputHelper output)
{
    [Theory]
    [InlineData(KernelBackend.FastCpu)]
    [InlineData(KernelBackend.IlgpuCpu)]
    public void Decode_steps_after_the_first_allocate_no_device_memory(KernelBackend kind) => Check(kind);

    [SkippableFact]
    public void Cuda_decode_steps_after_the_first_allocate_no_device_memory()
    {
        var reason = KernelDevices.UnavailableReason(KernelBackend.Cuda);
        Skip.If(reason is not null, reason);
        Check(KernelBackend.Cuda);
    }

    private void Check(KernelBackend kind)
    {
        var backend = backends.Get(kind);
        using var golden = Fixtures.Golden(Fixtures.Bf16);
        var prompt = golden.Ints("decode.prompt_ids").Take(8).ToArray();
        using var model = new KernelModelHarness(Fixtures.Bf16, backend, maxContext: 32); // ≤ 64 keys: one size class for every per-key buffer
        var pool = backend.MemoryPool;

        model.Prefill(prompt);
        model.Prefill([prompt[^1]]); // the first decode step fills the pool with decode-sized buffers
        var (allocations, reuses) = (pool.AllocationCount, pool.ReuseCount);
        const int steps = 3;
        var profile = new LaunchProfile(); // counts the launches per step for the report (FastCpu launches bypass it)
        var previousProfile = backend.Device.Profile;
        backend.Device.Profile = profile;
        try
        {
            for (var step = 0; step < steps; step++)
            {
                model.Prefill([prompt[step]]);
            }
        }
        finally
        {
            backend.Device.Profile = previousProfile;
        }

        profile.Flush();
        output.WriteLine(profile.Format(steps));

        var requestsPerStep = (pool.AllocationCount - allocations + pool.ReuseCount - reuses) / steps;
        output.WriteLine($"{kind}: {requestsPerStep} device buffer requests per decode step (each a device allocation without the pool); " +
            $"{pool.AllocationCount - allocations} new allocations in {steps} steps; {pool.IdleBytes} idle bytes pooled");
        Assert.True(requestsPerStep > 0, "the decode steps requested no buffers: the pool counters are not wired");
        Assert.Equal(allocations, pool.AllocationCount);
    }
}
