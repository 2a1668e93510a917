using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Kernels.Linear;

namespace KernelSharp.Kernels.Indexer;

/// <summary>
/// Sixteen consecutive words of a bf16 key row (32 dims) in registers: what one lane of the tensor-core indexer
/// multiplies over its 8 k-steps (words 2·step and 2·step + 1 at step <c>step</c>). Loaded as four 16-byte vectors
/// where the keys start on 16 bytes, else word by word.
/// </summary>
internal readonly struct KeyRowWords(Words4 w0, Words4 w1, Words4 w2, Words4 w3)
{
    private readonly Words4 w0 = w0;
    private readonly Words4 w1 = w1;
    private readonly Words4 w2 = w2;
    private readonly Words4 w3 = w3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static KeyRowWords Load(ArrayView<uint> words, long first, bool vectors) // words [keys, 64]; first: a multiple of 16
    {
        if (vectors)
        {
            var quads = words.SubView(first, 16).AsAligned(16).Cast<Words4>(); // as WidenFp8WeightsToBf16 reads its 16-byte runs
            return new KeyRowWords(quads[0], quads[1], quads[2], quads[3]);
        }
        return new KeyRowWords(Scalar(words, first), Scalar(words, first + 4), Scalar(words, first + 8), Scalar(words, first + 12));
    }

    /// <summary>Word 2·<paramref name="step"/>; the step is a constant in the unrolled k loop, so this folds to a register.</summary>
    public uint Even(int step)
    {
        var quad = Quad(step >> 1);
        return (step & 1) == 0 ? quad.X : quad.Z;
    }

    /// <summary>Word 2·<paramref name="step"/> + 1.</summary>
    public uint Odd(int step)
    {
        var quad = Quad(step >> 1);
        return (step & 1) == 0 ? quad.Y : quad.W;
    }

    private Words4 Quad(int index) => index == 0 ? w0 : index == 1 ? w1 : index == 2 ? w2 : w3;

    private static Words4 Scalar(ArrayView<uint> words, long at) => new(words[at], words[at + 1], words[at + 2], words[at + 3]);
}
