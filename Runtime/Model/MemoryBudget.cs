using ILGPU.Runtime;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Kernels;

namespace KernelSharp.Runtime.Model;

/// <summary>
/// Where a backend keeps a model and how much room it has there: a GPU kernel backend holds the weights as stored (FP8 or
/// bf16) and the caches in device memory, so a real-width model is checked against the device, not the host; on the CPU
/// the same bytes are checked against host memory (a backend that widens weights, the tests' fp32 reference, in fp32).
/// </summary>
/// <param name="Storage">How the weight matrices are held.</param>
/// <param name="EmbeddingAsStored">The embedding table is kept as stored (read in place), not gathered as fp32 rows.</param>
/// <param name="AvailableBytes">Memory the model may use there.</param>
/// <param name="Place">"" for host memory, else " on DEVICE" for the message.</param>
internal sealed record MemoryBudget(WeightStorage Storage, long AvailableBytes, string Place, bool EmbeddingAsStored = false)
{
    /// <summary>The budget of <paramref name="backend"/> for <paramref name="config"/>; <paramref name="availableOverride"/> replaces the memory found.</summary>
    public static MemoryBudget For(IModelBackend backend, ModelConfig config, long? availableOverride)
    {
        var storage = !backend.KeepsNativeWeights ? WeightStorage.Float32
            : config.Quantization is not null ? WeightStorage.Fp8
            : WeightStorage.BFloat16;
        if (backend is KernelModelBackend kernels && kernels.Device.Accelerator.AcceleratorType != AcceleratorType.CPU)
        {
            var accelerator = kernels.Device.Accelerator;
            return new MemoryBudget(storage, availableOverride ?? accelerator.MemorySize, $" on {accelerator.Name}", backend.GathersNativeRows);
        }

        return new MemoryBudget(storage, availableOverride ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, string.Empty, backend.GathersNativeRows);
    }

    /// <summary>The weights' format in the refusal message.</summary>
    public string StorageName => Storage switch
    {
        WeightStorage.Float32 => "fp32",
        WeightStorage.BFloat16 => "bf16",
        _ => "FP8",
    };
}
