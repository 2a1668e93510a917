using System.Runtime.InteropServices;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Synthetic;
using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Synthetic;

/// <summary>
/// The bytes of elements [First, First + Count) of a <see cref="SyntheticTensor"/>, generated rather than stored: its
/// stored codes (bf16 bits, e4m3 codes or fp32), or with <see cref="Widened"/> their fp32 values. A kernel backend
/// fills its device buffer with them in place (<see cref="GeneratesOnDevice"/>); anything else reads them through
/// <see cref="ReadChunks"/>, generated on the host a bounded chunk at a time. Both give the same bits.
/// </summary>
internal sealed class GeneratedWeightBytes : WeightBytes
{
    /// <summary>Elements one host thread generates in one piece of a chunk.</summary>
    private const int ElementsPerPiece = 1 << 16;

    public GeneratedWeightBytes(SyntheticTensor tensor, long first, long count, bool widened)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (first + count > tensor.ElementCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"elements [{first}, {first + count}) are outside the {tensor.ElementCount} of '{tensor.Name}'");
        }

        if (tensor.StoredAs == TensorDType.F8_E4M3 && tensor.Mean != 0)
        {
            throw new ArgumentException($"'{tensor.Name}': FP8 codes are generated around zero (block scales carry the width), not around {tensor.Mean}", nameof(tensor));
        }

        Tensor = tensor;
        First = first;
        Count = count;
        Widened = widened;
    }

    public SyntheticTensor Tensor { get; }

    /// <summary>Stream index of the first element.</summary>
    public long First { get; }

    public long Count { get; }

    /// <summary>True: fp32 values (what a backend computing in fp32 reads); false: the stored codes.</summary>
    public bool Widened { get; }

    public int ElementSize => Widened ? sizeof(float) : Tensor.StoredAs.SizeInBytes();

    public override long Length => Count * ElementSize;

    /// <summary>
    /// True when the device kernels produce exactly these bits: every zero-mean tensor. Norm weights (mean 1) are
    /// generated on the host, where the addition rounds as <c>create-model</c>'s does (a GPU compiler may fuse it
    /// with the multiply); they are vectors of at most hidden-size elements.
    /// </summary>
    public bool GeneratesOnDevice => Tensor.Mean == 0;

    public override void ReadChunks(int maxChunkBytes, WeightChunkAction action)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChunkBytes, 1);
        int elementSize = ElementSize;
        long elementsPerChunk = Math.Max(1, maxChunkBytes / elementSize);
        var chunk = new byte[Math.Min(Length, elementsPerChunk * elementSize)]; // [elements of one chunk · element size]
        for (long done = 0; done < Count; done += elementsPerChunk)
        {
            int elements = (int)Math.Min(elementsPerChunk, Count - done);
            Generate(First + done, elements, chunk);
            // A chunk is whole elements unless maxChunkBytes is smaller than one: then it goes out in slices.
            for (int sent = 0; sent < elements * elementSize; sent += maxChunkBytes)
            {
                int length = Math.Min(maxChunkBytes, (elements * elementSize) - sent);
                action(chunk.AsSpan(sent, length), (done * elementSize) + sent);
            }
        }
    }

    /// <summary>Elements [first, first + count) of the stream into <paramref name="target"/>, in parallel pieces.</summary>
    private void Generate(long first, int count, byte[] target)
    {
        int pieces = (count + ElementsPerPiece - 1) / ElementsPerPiece;
        Parallel.For(0, pieces, p =>
        {
            int start = p * ElementsPerPiece;
            int length = Math.Min(ElementsPerPiece, count - start);
            GeneratePiece(first + start, length, target.AsSpan(start * ElementSize, length * ElementSize));
        });
    }

    private void GeneratePiece(long first, int count, Span<byte> target)
    {
        var (key, mean, halfWidth) = (Tensor.Key, Tensor.Mean, Tensor.HalfWidth);
        if (Widened)
        {
            var values = MemoryMarshal.Cast<byte, float>(target);
            for (int i = 0; i < count; i++)
            {
                values[i] = Tensor.StoredAs switch
                {
                    TensorDType.BF16 => Bf16.ToFloat(Bf16.FromFloat(mean + SyntheticWeightStream.Centered(key, first + i, halfWidth))),
                    TensorDType.F8_E4M3 => SyntheticWeightStream.Widened(key, first + i, halfWidth, SyntheticStorage.Fp8),
                    _ => mean + SyntheticWeightStream.Centered(key, first + i, halfWidth),
                };
            }

            return;
        }

        switch (Tensor.StoredAs)
        {
            case TensorDType.BF16:
                var bits = MemoryMarshal.Cast<byte, ushort>(target);
                for (int i = 0; i < count; i++)
                {
                    bits[i] = Bf16.FromFloat(mean + SyntheticWeightStream.Centered(key, first + i, halfWidth));
                }

                break;
            case TensorDType.F8_E4M3:
                for (int i = 0; i < count; i++)
                {
                    target[i] = SyntheticWeightStream.Fp8Code(key, first + i);
                }

                break;
            default:
                var floats = MemoryMarshal.Cast<byte, float>(target);
                for (int i = 0; i < count; i++)
                {
                    floats[i] = mean + SyntheticWeightStream.Centered(key, first + i, halfWidth);
                }

                break;
        }
    }
}
