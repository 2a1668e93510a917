using System.Buffers.Binary;
using System.Numerics.Tensors;

namespace KernelSharp.Runtime;

/// <summary>
/// Finds NaN and infinity in weights as they are read. One NaN weight turns every logit into NaN, and a model that
/// loads silently then generates its BOS token forever; the scan is cheap next to converting or copying the tensor,
/// and its error names the tensor and the element.
/// </summary>
public static class NonFiniteValues
{
    /// <summary>The flat index of the first NaN or infinity in stored bytes of <paramref name="dtype"/>, or -1.</summary>
    public static long FirstIndex(ReadOnlySpan<byte> stored, TensorDType dtype)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                return FirstIndex(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(stored));
            case TensorDType.BF16:
                // Exponent all ones (0x7F80) is infinity or NaN.
                for (int i = 0; i + 1 < stored.Length; i += 2)
                {
                    if ((BinaryPrimitives.ReadUInt16LittleEndian(stored[i..]) & 0x7F80) == 0x7F80)
                    {
                        return i / 2;
                    }
                }
                return -1;
            case TensorDType.F16:
                for (int i = 0; i + 1 < stored.Length; i += 2)
                {
                    if ((BinaryPrimitives.ReadUInt16LittleEndian(stored[i..]) & 0x7C00) == 0x7C00)
                    {
                        return i / 2;
                    }
                }
                return -1;
            case TensorDType.F8_E4M3:
                // e4m3 (the "fn" variant) has no infinity; S.1111.111 (0x7F, 0xFF) is its only NaN.
                for (int i = 0; i < stored.Length; i++)
                {
                    if ((stored[i] & 0x7F) == 0x7F)
                    {
                        return i;
                    }
                }
                return -1;
            default:
                return -1;
        }
    }

    /// <summary>The index of the first NaN or infinity in <paramref name="values"/>, or -1.</summary>
    public static long FirstIndex(ReadOnlySpan<float> values)
    {
        // One vectorized sum per chunk decides whether to look closer: NaN propagates through it and an infinity makes it
        // infinite or NaN, so sum·0 is finite only when every value is (an overflowing sum of finite values merely costs
        // the closer look).
        const int Chunk = 1 << 16;
        for (int start = 0; start < values.Length; start += Chunk)
        {
            ReadOnlySpan<float> part = values.Slice(start, Math.Min(Chunk, values.Length - start));
            if (float.IsFinite(TensorPrimitives.Sum(part) * 0f))
            {
                continue;
            }

            for (int i = 0; i < part.Length; i++)
            {
                if (!float.IsFinite(part[i]))
                {
                    return start + i;
                }
            }
        }

        return -1;
    }

    /// <summary>The error for a non-finite value found at <paramref name="index"/> of a tensor.</summary>
    public static CheckpointException Error(string file, string tensor, long[] shape, long index)
    {
        string where = shape.Length == 2 && shape[1] > 0 ? $"[{index / shape[1]}, {index % shape[1]}]" : $"{index}";
        return new CheckpointException($"{file}: tensor '{tensor}' holds NaN or infinity at element {where}; the checkpoint is corrupt");
    }
}
