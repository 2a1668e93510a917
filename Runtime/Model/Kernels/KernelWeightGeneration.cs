using ILGPU;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Synthetic;
using KernelSharp.Runtime.Model.Synthetic;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// Generated weights made in their device buffer by Kernels/Synthetic (<see cref="SyntheticWeightKernels"/>): the
/// same bits <see cref="GeneratedWeightBytes.ReadChunks"/> makes on the host, with no host bytes and no copy.
/// </summary>
internal static class KernelWeightGeneration
{
    /// <summary>Elements per launch: a grid of int groups, and every piece's stream index stays exact.</summary>
    private const int ElementsPerLaunch = 1 << 28;

    /// <summary>Fills <paramref name="destination"/> ([source.Length] bytes) with <paramref name="source"/>'s elements.</summary>
    public static void Fill(KernelDevice device, ArrayView<byte> destination, GeneratedWeightBytes source)
    {
        if (destination.Length != source.Length || !source.GeneratesOnDevice)
        {
            throw new ArgumentException($"cannot generate {source.Length} bytes of '{source.Tensor.Name}' into {destination.Length} device bytes", nameof(source));
        }

        var tensor = source.Tensor;
        for (long done = 0; done < source.Count; done += ElementsPerLaunch)
        {
            int count = (int)Math.Min(ElementsPerLaunch, source.Count - done);
            long first = source.First + done;
            long byteStart = done * source.ElementSize, byteLength = (long)count * source.ElementSize;
            var piece = destination.SubView(byteStart, byteLength);
            if (source.Widened)
            {
                SyntheticWeightKernels.LaunchFillSyntheticFloat(device, piece.Cast<float>(), tensor.Key, first, tensor.HalfWidth, tensor.StorageCode, count);
            }
            else if (tensor.StoredAs == TensorDType.BF16)
            {
                SyntheticWeightKernels.LaunchFillSyntheticBf16(device, piece.Cast<ushort>(), tensor.Key, first, tensor.HalfWidth, count);
            }
            else if (tensor.StoredAs == TensorDType.F8_E4M3)
            {
                SyntheticWeightKernels.LaunchFillSyntheticFp8(device, piece, tensor.Key, first, count);
            }
            else
            {
                SyntheticWeightKernels.LaunchFillSyntheticFloat(device, piece.Cast<float>(), tensor.Key, first, tensor.HalfWidth, SyntheticStorage.Float32, count);
            }
        }
    }
}
