using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// A rank's plan and the collectives its layers call on backend tensors. On the CPU backend tensors are host
/// memory (the CPU backend, and the kernel backend on ILGPU's CPU accelerator), so the collectives hand their values to
/// the <see cref="ICommunicator"/> directly; GPU ranks need NCCL on device buffers (<see cref="NcclCommunicator"/>),
/// which the kernel backend does not route through here yet.
/// </summary>
internal sealed class ModelParallelism
{
    private readonly IModelBackend backend;
    private readonly ICommunicator? communicator;

    public ModelParallelism(IModelBackend backend, ParallelPlan plan, ICommunicator? communicator)
    {
        if (plan.IsSplit && (communicator is null || communicator.Size != plan.Size || communicator.Rank != plan.Rank))
        {
            throw new ArgumentException($"rank {plan.Rank} of {plan.Size} needs a communicator of that rank and size", nameof(communicator));
        }

        if (plan.IsSplit && !HoldsTensorsInHostMemory(backend))
        {
            throw new UserInputException($"a model split over {plan.Size} ranks runs on host-memory backends for now (cpu, ilgpu-cpu); GPU ranks need NCCL collectives on device buffers, which are not wired into the kernel backend yet");
        }

        this.backend = backend;
        this.communicator = communicator;
        Plan = plan;
    }

    /// <summary>Backends whose tensors live in host memory, where handing their values to an in-process communicator is the real exchange, not a detour.</summary>
    private static bool HoldsTensorsInHostMemory(IModelBackend backend) => backend switch
    {
        Model.Cpu.CpuBackend => true,
        Model.Kernels.KernelModelBackend kernels => kernels.Device.Backend is Dsl.Launch.KernelBackend.FastCpu or Dsl.Launch.KernelBackend.IlgpuCpu,
        _ => false,
    };

    public static ModelParallelism Single(IModelBackend backend) => new(backend, ParallelPlan.Single, null);

    public ParallelPlan Plan { get; }

    /// <summary>Σ over ranks of <paramref name="partial"/> [rows, columns], as a new tensor (the input stays the caller's).</summary>
    public Tensor AllReduceSum(Tensor partial)
    {
        var values = backend.Download(partial);
        communicator!.AllReduceSum(values);
        return backend.Upload(values, partial.Rows, partial.Columns);
    }

    /// <summary>
    /// Every rank's column block of a [rows, total] result, side by side: rank r contributes columns
    /// [first_r, first_r + count_r) of each row (its vocabulary share of the logits).
    /// </summary>
    public Tensor AllGatherColumns(Tensor mine, int totalColumns, int firstColumn)
    {
        var rows = mine.Rows;
        var full = new float[(long)rows * totalColumns];
        var local = backend.Download(mine); // [rows, count]
        for (var r = 0; r < rows; r++)
        {
            local.AsSpan(r * mine.Columns, mine.Columns).CopyTo(full.AsSpan((r * totalColumns) + firstColumn, mine.Columns));
        }

        // The shares differ in width when the vocabulary does not divide evenly, so the gather is a sum of
        // zero-padded blocks: each column has exactly one non-zero contributor, so the sum is exact.
        communicator!.AllReduceSum(full);
        return backend.Upload(full, rows, totalColumns);
    }
}
