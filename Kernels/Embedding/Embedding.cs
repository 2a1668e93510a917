using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Embedding;

/// <summary>
/// Token embedding gather: output row t = table row ids[t], widened to fp32 from the table's storage format
/// (<see cref="IRowFormat{TSelf}"/>). One group per token; threads copy
/// the row in strides. An id outside [0, vocab) writes a row of NaN so the mistake shows in every later tensor
/// (hosts validate ids before launching; the kernel cannot throw).
/// </summary>
public static partial class EmbeddingKernels
{
    [Kernel(Grid = "tokens", GroupSize = "256")]
    public static void Embedding<TTable>(
        TTable table,            // [vocab, hidden]
        ArrayView<int> ids,      // [tokens]
        ArrayView<float> output, // [tokens, hidden]
        int tokens,
        int hidden,
        int vocab)
        where TTable : struct, IRowFormat<TTable>
    {
        int token = Grid.IdxX;
        int id = ids[token];
        bool valid = id >= 0 && id < vocab;
        int source = valid ? id : 0; // row 0 stands in so no load leaves the table
        long destination = (long)token * hidden;
        for (int i = Group.IdxX; i < hidden; i += Group.DimX)
            output[destination + i] = valid ? table.Element(source, hidden, i) : float.NaN;
    }
}
