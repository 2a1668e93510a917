using System.Collections.Concurrent;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Generators.Tests.Infrastructure;
using Xunit;

namespace KernelSharp.Generators.Tests;

/// <summary>The launch-time support the generated launchers call: devices, the autotuner and its store, the CPU grid.</summary>
[Collection(AutotuneCollection.Name)]
public sealed class LaunchSupportTests
{
    [Fact]
    public void FastCpuDeviceAllocatesHostMemory()
    {
        var device = TestDevices.FastCpu;
        Assert.Equal(KernelBackend.FastCpu, device.Backend);
        Assert.Equal(AcceleratorType.CPU, device.Accelerator.AcceleratorType);
        using var buffer = device.Allocate<float>(10);
        Assert.Equal(10, buffer.Length);
        buffer.View[3] = 2.5f; // host memory: the CPU path indexes views directly
        Assert.Equal(2.5f, buffer.GetAsArray1D()[3]);
    }

    [Fact]
    public void CreateBestNeverPicksTheDebugEmulator()
    {
        using var device = KernelDevice.CreateBest();
        Assert.NotEqual(KernelBackend.IlgpuCpu, device.Backend);
        Assert.Contains(device.Backend.ToString(), device.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void CpuGridVisitsEveryGroupOnce()
    {
        var visits = new ConcurrentDictionary<(int, int), int>();
        CpuGrid.For(37, 3, (x, y) => visits.AddOrUpdate((x, y), 1, (_, n) => n + 1));
        Assert.Equal(37 * 3, visits.Count);
        Assert.All(visits.Values, n => Assert.Equal(1, n));
        CpuGrid.For(0, 5, (_, _) => throw new InvalidOperationException("no group expected"));
    }

    [Fact]
    public void CpuGridVisitsEveryGroupOnceOnTheCallingThreadAndOnThePool()
    {
        // The first launch of a site runs serially to measure it; groups this slow (about 0.2 ms each) then send the
        // later launches of the same site to the pool. Both must visit every group exactly once.
        for (int launch = 0; launch < 3; launch++)
        {
            var visits = new ConcurrentDictionary<(int, int), int>();
            CpuGrid.For(8, 2, (x, y) =>
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (clock.Elapsed < TimeSpan.FromMilliseconds(0.2))
                    Thread.SpinWait(10);
                visits.AddOrUpdate((x, y), 1, (_, n) => n + 1);
            });
            Assert.Equal(16, visits.Count);
            Assert.All(visits.Values, n => Assert.Equal(1, n));
        }
    }

    /// <summary>Slow groups (about 0.2 ms each), so launches after a site's first go to the spinning workers.</summary>
    private static void SlowGroup(ConcurrentDictionary<(int, int), int> visits, int x, int y)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMilliseconds(0.2))
            Thread.SpinWait(10);
        visits.AddOrUpdate((x, y), 1, (_, n) => n + 1);
    }

    [Fact]
    public void CpuGridLaunchesFromSeveralThreadsAtOnceAndFromInsideAGroupEachVisitEveryGroupOnce()
    {
        // One grid at a time has the workers; the others (and a launch from inside a group) run on the thread pool.
        var outcomes = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4).Select(_ =>
        {
            bool all = true;
            for (int launch = 0; launch < 5; launch++)
            {
                var visits = new ConcurrentDictionary<(int, int), int>();
                var inner = new ConcurrentDictionary<(int, int), int>();
                CpuGrid.For(6, 2, (x, y) =>
                {
                    SlowGroup(visits, x, y);
                    if (x == 0 && y == 0)
                        CpuGrid.For(3, 1, (a, b) => inner.AddOrUpdate((a, b), 1, (_, n) => n + 1));
                });
                all &= visits.Count == 12 && visits.Values.All(n => n == 1) && inner.Count == 3 && inner.Values.All(n => n == 1);
            }
            return all;
        }).ToList();
        Assert.All(outcomes, Assert.True);
    }

    [Fact]
    public void A_failing_group_reaches_the_caller_as_itself_and_the_next_launch_runs_normally()
    {
        for (int launch = 0; launch < 3; launch++)
        {
            var visits = new ConcurrentDictionary<(int, int), int>();
            var error = Assert.Throws<InvalidOperationException>(() => CpuGrid.For(8, 2, (x, y) =>
            {
                SlowGroup(visits, x, y);
                if (x == 5 && y == 1)
                    throw new InvalidOperationException("group (5, 1) failed");
            }));
            Assert.Equal("group (5, 1) failed", error.Message);
        }

        var after = new ConcurrentDictionary<(int, int), int>();
        for (int launch = 0; launch < 2; launch++)
        {
            after.Clear();
            CpuGrid.For(8, 2, (x, y) => SlowGroup(after, x, y));
        }
        Assert.Equal(16, after.Count);
    }

    [Fact]
    public void CpuGroupStateHandsEachSlotOneClearedArrayPerThread()
    {
        var first = CpuGroupState<float>.Rent(0, 4);
        first[0] = 1f;
        first[3] = 2f;
        var again = CpuGroupState<float>.Rent(0, 4);
        Assert.Same(first, again);
        Assert.Equal(new float[4], again.AsSpan(0, 4).ToArray());
        Assert.NotSame(first, CpuGroupState<float>.Rent(1, 4));
        Assert.True(CpuGroupState<float>.Rent(0, 100).Length >= 100);
    }

    [Fact]
    public void CpuSharedMemoryIsReusedPerSiteAndThread()
    {
        var first = CpuSharedMemory.Rent<float>("test#1", 16);
        first[15] = 7f;
        var again = CpuSharedMemory.Rent<float>("test#1", 8);
        Assert.Equal(8, again.Length);
        Assert.Equal(16, CpuSharedMemory.Rent<float>("test#1", 16).Length);
        Assert.Equal(7f, CpuSharedMemory.Rent<float>("test#1", 16)[15]);
    }

    [Fact]
    public void AutotunerPicksTheFastestCandidateAndPersistsIt()
    {
        using var scope = new AutotuneScope();
        var device = TestDevices.FastCpu;
        string kernel = "Tests.Kernel" + Guid.NewGuid().ToString("N");
        var candidates = new[] { "slow", "fast" };
        int runs = 0;
        int choice = KernelAutotuner.Choose(device, kernel, "n=1", candidates, c =>
        {
            runs++;
            if (c == 0)
                Thread.Sleep(3);
        });
        Assert.Equal(1, choice);
        Assert.Equal(2 * (1 + KernelAutotuner.Repetitions), runs);
        Assert.Contains("\"fast\"", File.ReadAllText(scope.Path));
        Assert.Contains(kernel + "|n=1", File.ReadAllText(scope.Path));

        // Known now: neither this device (memory) nor a fresh one (the file) measures again.
        Assert.Equal(1, KernelAutotuner.Choose(device, kernel, "n=1", candidates, _ => throw new InvalidOperationException("re-measured")));
        using var other = KernelDevice.Create(KernelBackend.FastCpu);
        Assert.Equal(1, KernelAutotuner.Choose(other, kernel, "n=1", candidates, _ => throw new InvalidOperationException("re-measured")));
    }

    [Fact]
    public void AWarmLaunchRecallsItsChoiceWithoutAllocating()
    {
        using var scope = new AutotuneScope();
        var device = TestDevices.FastCpu;
        var site = new TuningSite("Tests.Recall" + Guid.NewGuid().ToString("N"));
        var shape = new TuningShape(64, 4096);
        var candidates = new[] { "slow", "fast" };
        Assert.False(KernelAutotuner.TryRecall(device, site, shape, out _)); // first launch: nothing kept yet

        int choice = KernelAutotuner.Choose(device, site, shape, "n=64,k=4096", candidates, c => Thread.Sleep(c == 0 ? 20 : 0));
        Assert.Equal(1, choice);
        Assert.True(KernelAutotuner.TryRecall(device, site, shape, out int recalled));
        Assert.Equal(1, recalled);
        Assert.False(KernelAutotuner.TryRecall(device, site, new TuningShape(64, 2048), out _));          // another shape
        Assert.False(KernelAutotuner.TryRecall(device, new TuningSite(site.Kernel), shape, out _));        // another launcher site
        using (var other = KernelDevice.Create(KernelBackend.FastCpu))
            Assert.False(KernelAutotuner.TryRecall(other, site, shape, out _));                            // another device

        long before = GC.GetAllocatedBytesForCurrentThread();
        int hits = 0;
        for (int i = 0; i < 10_000; i++)
            hits += KernelAutotuner.TryRecall(device, site, shape, out int c) ? c : 0;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(10_000, hits);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void WithTuningOffNoChoiceIsRecalled()
    {
        using var scope = new AutotuneScope(enabled: false);
        var site = new TuningSite("Tests.RecallOff" + Guid.NewGuid().ToString("N"));
        Assert.Equal(0, KernelAutotuner.Choose(TestDevices.FastCpu, site, new TuningShape(1), "n=1", new[] { "a", "b" },
            _ => throw new InvalidOperationException("must not run")));
        Assert.False(KernelAutotuner.TryRecall(TestDevices.FastCpu, site, new TuningShape(1), out _));
    }

    [Fact]
    public void AutotuneOffUsesTheFirstCandidate()
    {
        using var scope = new AutotuneScope(enabled: false);
        int choice = KernelAutotuner.Choose(TestDevices.FastCpu, "Tests.Off" + Guid.NewGuid().ToString("N"), "any", new[] { "a", "b" },
            _ => throw new InvalidOperationException("must not run"));
        Assert.Equal(0, choice);
        Assert.False(File.Exists(scope.Path));
    }

    [Fact]
    public void AutotunerSkipsFailingCandidates()
    {
        using var scope = new AutotuneScope();
        int choice = KernelAutotuner.Choose(TestDevices.FastCpu, "Tests.Failing" + Guid.NewGuid().ToString("N"), "any", new[] { "broken", "works" },
            c => { if (c == 0) throw new NotSupportedException("too much shared memory"); });
        Assert.Equal(1, choice);
    }

    [Fact]
    public void ViewSnapshotRestoresContents()
    {
        var device = TestDevices.FastCpu;
        using var buffer = device.Allocate<float>(4);
        buffer.CopyFromCPU(new[] { 1f, 2f, 3f, 4f });
        using var snapshot = new ViewSnapshot(device).Add<float>(buffer.View);
        buffer.CopyFromCPU(new[] { 9f, 9f, 9f, 9f });
        snapshot.Restore();
        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, buffer.GetAsArray1D());
        Assert.Equal(16, snapshot.Bytes);
    }

    [Fact]
    public void StoreIgnoresACorruptFile()
    {
        string path = Path.Combine(Path.GetTempPath(), "ks-store-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, "{ not json");
        try
        {
            var store = new AutotuneStore(path);
            Assert.Null(store.Get("k"));
            store.Set("k", "v");
            Assert.Equal("v", new AutotuneStore(path).Get("k"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>Autotuner tests change process-wide environment variables: they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AutotuneCollection
{
    public const string Name = "Autotune environment";
}

/// <summary>Points the autotuner at a fresh file (and optionally turns it off) for one test.</summary>
internal sealed class AutotuneScope : IDisposable
{
    public AutotuneScope(bool enabled = true)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ks-autotune-" + Guid.NewGuid().ToString("N") + ".json");
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE", Path);
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE", enabled ? null : "0");
    }

    public string Path { get; }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE", TestDevices.AutotuneFile);
        Environment.SetEnvironmentVariable("KERNELSHARP_AUTOTUNE", null);
        File.Delete(Path);
    }
}
