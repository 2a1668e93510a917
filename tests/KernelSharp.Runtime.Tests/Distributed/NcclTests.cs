using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Distributed;
using KernelSharp.Runtime.Tests.KernelModel;
using Xunit;

namespace KernelSharp.Runtime.Tests.Distributed;

/// <summary>The NCCL binding: found where it is installed, a clear message where it is not, and real collectives on a GPU.</summary>
[Collection(NcclCollection.Name)]
public sealed class NcclTests
{
    [Fact]
    public void ACandidateThatIsNotALibraryIsNamedInTheMessage()
    {
        var notALibrary = Path.Combine(Path.GetTempPath(), $"kernelsharp-not-nccl-{Environment.ProcessId}.so");
        File.WriteAllText(notALibrary, "not a shared library");
        var previous = Environment.GetEnvironmentVariable("KERNELSHARP_NCCL");
        Environment.SetEnvironmentVariable("KERNELSHARP_NCCL", notALibrary);
        try
        {
            Assert.Equal(notALibrary, NcclLibrary.Candidates().First());
            var (library, problem) = NcclLibrary.Search();
            if (library is null)
            {
                Assert.StartsWith("NCCL (libnccl.so.2) was not found: tried " + notALibrary, problem);
                Assert.EndsWith("or set KERNELSHARP_NCCL to the library's path", problem);
            }
            else
            {
                Assert.NotEqual(notALibrary, library.Path); // an NCCL installed on this machine is found after the bad candidate
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("KERNELSHARP_NCCL", previous);
            File.Delete(notALibrary);
        }
    }

    [Fact]
    public void PyTorchWheelsAreSearched() =>
        Assert.Contains(NcclLibrary.Candidates(), path => path.EndsWith(Path.Combine("site-packages", "nvidia", "nccl", "lib", "libnccl.so.2"), StringComparison.Ordinal));

    [SkippableFact]
    public void OneRankCollectivesRunOnTheGpu()
    {
        var reason = KernelDevices.UnavailableReason(KernelBackend.Cuda);
        Skip.If(reason is not null, reason);
        var nccl = NcclLibrary.TryLoad(out var problem);
        Skip.If(nccl is null, problem);

        using var device = KernelDevice.Create(KernelBackend.Cuda);
        device.Accelerator.Bind(); // NCCL uses the CUDA context current on this thread
        var values = Enumerable.Range(0, 1000).Select(i => i * 0.5f).ToArray();
        using var buffer = device.Allocate<float>(values.Length);
        using var gathered = device.Allocate<float>(values.Length);
        buffer.CopyFromCPU(values);
        device.Synchronize();

        var communicators = NcclCommunicator.CreateAll(nccl!, [0]);
        try
        {
            var rank = Assert.Single(communicators);
            Assert.Equal((0, 1), (rank.Rank, rank.Size));
            rank.AllReduceSum(buffer.NativePtr, values.Length, 0);
            rank.AllGather(buffer.NativePtr, gathered.NativePtr, values.Length, 0);
            device.Synchronize();
            Assert.Equal(values, buffer.GetAsArray1D()); // the sum over one rank is its own buffer
            Assert.Equal(values, gathered.GetAsArray1D());
        }
        finally
        {
            foreach (var communicator in communicators)
            {
                communicator.Dispose();
            }
        }
    }
}

/// <summary>Tests that set KERNELSHARP_NCCL run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NcclCollection
{
    public const string Name = "NCCL";
}
