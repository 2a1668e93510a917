using ILGPU;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// A cache tensor kept in a rounded format (<see cref="KvCacheFormat.Fp8"/>): the FP8 latent cache's parts
/// (<see cref="Fp8LatentCachePart"/>) and the FP8 indexer keys (<see cref="KernelFp8IndexKeyCache"/>). The backend's cache
/// writers fill an fp32 staging tensor exactly as they would fill an fp32 cache and <see cref="Store"/> rounds it into
/// the cache's rows, so each writer handles every rounded cache through this one type; the kernels that read the cache
/// (MLA attention, the indexer) look at its format once, where they pick the row format they are compiled for.
/// </summary>
internal abstract class QuantizedCacheTensor(int rows, int columns) : Tensor(rows, columns)
{
    /// <summary>Rounds fp32 values [rowCount, Columns] into the cache: value row r into cache row destinationRows[r].</summary>
    public abstract void Store(KernelStorage storage, KernelTensor values, ArrayView<int> destinationRows);

    /// <summary>The cache's values [Rows, Columns] as its readers see them (dequantized on the host).</summary>
    public abstract float[] Download(KernelStorage storage);
}
