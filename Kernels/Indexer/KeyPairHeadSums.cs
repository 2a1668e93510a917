using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

/// <summary>
/// One lane's 64 running dot products in <see cref="IndexerWarpKeys"/>: <c>A0..A7</c> its first key against its
/// half-warp's heads 0..3, 4..7, …, 28..31, <c>B0..B7</c> its second key against the same heads. Named fields (not an
/// array) so that ILGPU keeps every sum in a register; passed and returned by value.
/// </summary>
public struct KeyPairHeadSums
{
    public Float4 A0, A1, A2, A3, A4, A5, A6, A7;
    public Float4 B0, B1, B2, B3, B4, B5, B6, B7;
}
