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

        using var rank = NcclCommunicator.Join(nccl!, NcclCommunicator.NewGroup(nccl!), size: 1, rank: 0);
        Assert.Equal((0, 1), (rank.Rank, rank.Size));
        rank.AllReduceSum(buffer.NativePtr, values.Length, 0);
        rank.AllGather(buffer.NativePtr, gathered.NativePtr, values.Length, 0);
        device.Synchronize();
        Assert.Equal(values, buffer.GetAsArray1D()); // the sum over one rank is its own buffer
        Assert.Equal(values, gathered.GetAsArray1D());
    }

    /// <summary>
    /// The model on a group of one GPU: every MoE layer's all-reduce, the embedding's and the head's gather go through
    /// NCCL on the kernel backend's device buffers, so the binding, the device pointers and the stream are the real ones.
    /// </summary>
    /// <remarks>
    /// Staged: the way a group of several GPUs runs when NCCL's initialization leaves another context current than
    /// ILGPU's, forced here on one GPU so that its copies between contexts and its host waits are checked too.
    /// </remarks>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void AOneGpuGroupRunsTheModelThroughNcclWithTheSameLogits(bool staged)
    {
        var reason = KernelDevices.UnavailableReason(KernelBackend.Cuda);
        Skip.If(reason is not null, reason);
        Skip.If(NcclLibrary.TryLoad(out var problem) is null, problem);

        var directory = Golden.Fixtures.Directory(Golden.Fixtures.Bf16);
        var options = new KernelSharp.Runtime.Model.ModelLoadOptions { Device = "cuda", MaxContext = 32 };
        int[] prompt = [1, 17, 42, 99, 7, 256, 3, 128, 64, 5];
        (float[] Prefill, float[] Decode) Run(KernelSharp.Runtime.Model.DeepSeekModel model)
        {
            using var session = model.CreateSession(32);
            var prefill = session.PrefillLast(prompt);
            return (prefill, session.Decode(Array.IndexOf(prefill, prefill.Max())));
        }

        (float[] Prefill, float[] Decode) single, grouped;
        using (var model = KernelSharp.Runtime.Model.DeepSeekModel.Load(directory, options))
        {
            single = Run(model);
        }

        NcclRankExchange.AlwaysStage = staged;
        try
        {
            using var model = KernelSharp.Runtime.Model.DeepSeekModel.Load(directory, options with { Gpus = [0] });
            Assert.Contains("1 rank on GPUs 0 exchanging through NCCL", model.DeviceDescription);
            Assert.Equal(staged, ((NcclRankExchange)model.Ranks[0].Exchange!).Staged);
            grouped = Run(model);
        }
        finally
        {
            NcclRankExchange.AlwaysStage = false;
        }

        Assert.Equal(single.Prefill, grouped.Prefill); // an all-reduce over one rank adds nothing: the same bits
        Assert.Equal(single.Decode, grouped.Decode);
    }
}

/// <summary>Tests that set KERNELSHARP_NCCL run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NcclCollection
{
    public const string Name = "NCCL";
}
