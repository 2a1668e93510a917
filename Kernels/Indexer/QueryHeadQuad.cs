using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

/// <summary>
/// Four dims of four consecutive heads' query rows (<c>H0..H3</c> = heads h..h+3, dims d..d+3), read from the shared
/// query of <see cref="IndexerKernels.IndexerScoresWarpKeys{TKeys}"/> as four 16-byte loads. Static methods with by-value
/// operands only: an instance call would take the struct's address and ILGPU then spills it to local memory.
/// </summary>
public struct QueryHeadQuad
{
    public Float4 H0;
    public Float4 H1;
    public Float4 H2;
    public Float4 H3;

    /// <summary>The quad whose first head's dims d..d+3 start at <paramref name="index"/>; the next heads follow every <paramref name="rowStride"/> floats.</summary>
    public static QueryHeadQuad Load(ArrayView<float> rows, int index, int rowStride) => new()
    {
        H0 = KsVector.LoadFloat4(rows, index),
        H1 = KsVector.LoadFloat4(rows, index + rowStride),
        H2 = KsVector.LoadFloat4(rows, index + 2 * rowStride),
        H3 = KsVector.LoadFloat4(rows, index + 3 * rowStride),
    };

    /// <summary>
    /// acc + (q.H0·k, q.H1·k, q.H2·k, q.H3·k): four heads' dot products with one key's dims d..d+3, added left to right
    /// onto the running sums so each head is a chain of four multiply-adds (ptxas fuses them).
    /// </summary>
    public static Float4 MultiplyAdd(Float4 acc, QueryHeadQuad q, Float4 k) => new(
        acc.X + q.H0.X * k.X + q.H0.Y * k.Y + q.H0.Z * k.Z + q.H0.W * k.W,
        acc.Y + q.H1.X * k.X + q.H1.Y * k.Y + q.H1.Z * k.Z + q.H1.W * k.W,
        acc.Z + q.H2.X * k.X + q.H2.Y * k.Y + q.H2.Z * k.Z + q.H2.W * k.W,
        acc.W + q.H3.X * k.X + q.H3.Y * k.Y + q.H3.Z * k.Z + q.H3.W * k.W);
}
