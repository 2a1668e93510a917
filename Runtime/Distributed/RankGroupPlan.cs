using ILGPU.Runtime;
using KernelSharp.Runtime.Devices;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Kernels;

namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// How one model load is spread over ranks, decided once from the load options and the chosen device: how many ranks,
/// each one's <see cref="ParallelPlan"/> and GPU, and how they exchange: threads of this process over host memory for
/// backends whose tensors live there, NCCL for CUDA GPUs. Without <see cref="ModelLoadOptions.Ranks"/> or
/// <see cref="ModelLoadOptions.Gpus"/> the model is one rank with no group.
/// </summary>
internal sealed class RankGroupPlan
{
    private readonly ModelConfig config;
    private readonly int[] gpus;
    private readonly NcclLibrary? nccl;

    private RankGroupPlan(ModelConfig config, int size, bool grouped, int[] gpus, NcclLibrary? nccl)
    {
        this.config = config;
        Size = size;
        Grouped = grouped;
        this.gpus = gpus;
        this.nccl = nccl;
    }

    public int Size { get; }

    /// <summary>Whether the ranks form a group whose layers exchange (a group of one included).</summary>
    public bool Grouped { get; }

    /// <summary>The options' placement checked against the device and the config; one clear line for each bad request.</summary>
    public static RankGroupPlan For(ModelLoadOptions options, DeviceChoice choice, ModelConfig config)
    {
        if (options.Ranks is null && options.Gpus is null)
        {
            return new RankGroupPlan(config, 1, grouped: false, [0], null);
        }

        var gpus = options.Gpus?.ToArray();
        if (gpus is not null)
        {
            if (gpus.Length == 0 || gpus.Any(g => g < 0) || gpus.Distinct().Count() != gpus.Length)
            {
                throw new UserInputException($"GPUs {string.Join(',', gpus)}: give distinct CUDA device numbers (0, 1, …), one per rank");
            }

            if (options.Ranks is int ranks && ranks != gpus.Length)
            {
                throw new UserInputException($"{ranks} ranks on {gpus.Length} GPUs ({string.Join(',', gpus)}): each rank needs a GPU of its own");
            }

            if (choice.Device is not ComputeDevice.Cuda)
            {
                throw new UserInputException($"GPUs {string.Join(',', gpus)} are CUDA devices, but the model runs on {choice.DeviceName}; a split over GPUs needs CUDA and NCCL");
            }
        }

        var size = gpus?.Length ?? options.Ranks!.Value;
        if (size < 1)
        {
            throw new UserInputException($"a model is split over at least 1 rank (got {size})");
        }

        if (choice.Device is ComputeDevice.OpenCL)
        {
            throw new UserInputException($"a model split over ranks runs on CUDA GPUs (NCCL) or on the CPU, not on OpenCL ({choice.DeviceName})");
        }

        for (var rank = 0; rank < size; rank++)
        {
            ParallelPlan.For(rank, size, config); // refuses splits the model cannot take (more ranks than experts, …)
        }

        var cuda = choice.Device is ComputeDevice.Cuda;
        return new RankGroupPlan(config, size, grouped: true, cuda ? gpus ?? [.. Enumerable.Range(0, size)] : new int[size], cuda ? NcclLibrary.Require() : null);
    }

    public ParallelPlan Plan(int rank) => Grouped ? ParallelPlan.For(rank, Size, config) : ParallelPlan.Single;

    /// <summary>The GPU number rank <paramref name="rank"/> runs on (0 on the CPU backends).</summary>
    public int Gpu(int rank) => gpus[rank];

    /// <summary>Who a memory refusal is about: "the model" or one rank's share of it.</summary>
    public string Whose(int rank) => Size == 1 ? "the model " : $"rank {rank} of {Size}{(nccl is null ? string.Empty : $" (GPU {gpus[rank]})")} ";

    /// <summary>What the model's description adds: the split, where its ranks run and how they exchange.</summary>
    public string Description => !Grouped ? string.Empty
        : nccl is not null ? $"; {Size} rank{(Size == 1 ? string.Empty : "s")} on GPUs {string.Join(',', gpus)} exchanging through NCCL {nccl.VersionText}"
        : $"; {Size} in-process rank{(Size == 1 ? string.Empty : "s")} exchanging through host memory";

    /// <summary>Gives every rank its exchange: a group of in-process ranks, or NCCL communicators joined on the ranks' own threads.</summary>
    public void Connect(IReadOnlyList<ModelRank> ranks, RankThreads? threads)
    {
        if (!Grouped)
        {
            return;
        }

        if (nccl is null)
        {
            if (!ranks.All(rank => HoldsTensorsInHostMemory(rank.Backend)))
            {
                throw new UserInputException($"in-process ranks exchange through host memory; {ranks[0].Backend.Description} keeps its tensors elsewhere");
            }

            var communicators = InProcessCommunicator.CreateGroup(Size);
            for (var r = 0; r < Size; r++)
            {
                ranks[r].Exchange = new HostRankExchange(ranks[r].Backend, communicators[r]);
            }

            return;
        }

        // ncclCommInitRank returns only when every rank has joined: each rank joins from its own thread, with its GPU's
        // context current there. A rank whose join fails leaves the others waiting, so everything that can be refused
        // (devices, memory) was checked before this point.
        var group = NcclCommunicator.NewGroup(nccl);
        RankThreads.OnEvery(threads, r =>
        {
            var backend = (KernelModelBackend)ranks[r].Backend;
            backend.Device.Bind();
            var acceleratorContext = CudaContexts.Current();
            var communicator = NcclCommunicator.Join(nccl, group, Size, r);
            var ncclContext = CudaContexts.Current(); // NCCL's initialization may have made another context current
            backend.Device.Bind();
            ranks[r].Exchange = new NcclRankExchange(backend, communicator, acceleratorContext, ncclContext);
            return true;
        }, abort: () => { });
    }

    /// <summary>Backends whose tensors live in host memory, where handing their values to an in-process communicator is the real exchange, not a detour.</summary>
    private static bool HoldsTensorsInHostMemory(Model.Backend.IModelBackend backend) => backend switch
    {
        KernelModelBackend kernels => kernels.Device.Accelerator.AcceleratorType == AcceleratorType.CPU,
        _ => false,
    };
}
