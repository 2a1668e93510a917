using KernelSharp.Runtime.Distributed;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Layers;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// One rank's share of a model: the backend it runs on, what the memory check found there, the exchange that joins it
/// to the other ranks (none for a model on one device) and its layers. A model that is not split has one rank.
/// </summary>
internal sealed class ModelRank(IModelBackend backend, MemoryBudget budget, long weightBytes) : IDisposable
{
    public IModelBackend Backend { get; } = backend;

    /// <summary>Where this rank's weights and caches live and how much room they have there.</summary>
    public MemoryBudget Budget { get; } = budget;

    /// <summary>Bytes of this rank's share of the weights (the memory check's estimate).</summary>
    public long WeightBytes { get; } = weightBytes;

    public IRankExchange? Exchange { get; set; }

    public Transformer Transformer { get; set; } = null!; // set once the weights are loaded

    /// <summary>
    /// Makes this rank's device current on the calling thread (a CUDA context is per thread; a rank's steps run on its own
    /// thread, and not every copy binds first). Nothing to do on the CPU backends.
    /// </summary>
    public void BindDevice() => (Backend as Kernels.KernelModelBackend)?.Device.Bind();

    public void Dispose()
    {
        Exchange?.Dispose();
        Backend.Dispose();
    }
}
