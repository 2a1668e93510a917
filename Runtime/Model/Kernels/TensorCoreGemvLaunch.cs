using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// output [T, out] = input [T, in] · weightᵀ for decode rows on the tensor cores
/// (<see cref="GemvKernels.TensorCoreGemv{TWeights, TItems}"/>: each weight read once for up to 64 sequences, fp32 activations
/// split into two bf16 parts, so the sums stay near an fp32 GEMV's). <see cref="Launched"/> is false where the kernel's
/// 16-byte weight reads do not fit (columns not a multiple of 128, a weight view off 16 bytes); the caller then
/// takes the CUDA-core GEMV. That depends on the weight and its shape only, never on the batch, so a sequence's sums
/// do not depend on what it decodes with; so does the number of k-slices a matrix with few rows is split into
/// (<see cref="GemvKernels.TensorCoreGemvKSlices"/>).
/// </summary>
internal struct TensorCoreGemvLaunch(KernelStorage storage, KernelTensor input, KernelTensor output, int rows, int columns)
    : ITensorCoreWeightOperation
{
    public bool Launched { get; private set; }

    public void Run<TWeights>(TWeights weights) where TWeights : struct, ITensorCoreRows<TWeights>
    {
        if (!weights.TensorCoreReadable(columns))
            return;
        var device = storage.Device;
        int batch = input.Rows;
        int count = checked(batch * columns);
        using var split = storage.Buffer<uint>(count); // [batch, columns] hi/lo bf16 words
        GemvKernels.LaunchSplitToBf16Pairs(device, input.View, split.View, count);
        int kSlices = GemvKernels.TensorCoreGemvKSlices(rows, columns);
        using var slices = storage.Buffer<float>(kSlices == 1 ? 1 : (long)kSlices * batch * rows); // [kSlices, batch, rows] each slice's sums
        GemvKernels.LaunchTensorCoreGemvBatch(device, weights, batch, split.View, slices.View, output.View, rows, columns);
        Launched = true;
    }
}
