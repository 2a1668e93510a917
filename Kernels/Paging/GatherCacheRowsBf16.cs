using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Paging;

/// <summary>
/// One sequence's keys of a cache in any row format (fp32, or the FP8 caches decoded with their scales), in position
/// order and rounded to bf16 (nearest even): the operand <see cref="Attention.MlaTensorCoreKernels.SparseMlaTensorCore"/> and
/// <see cref="Indexer.IndexerKernels.IndexerPrefillTensorCore"/> read when a prompt runs on tensor cores. The cache may
/// be paged: key p of query row 0's sequence is cache row <c>pages.CacheRow(0, p)</c>, so the copy is compact
/// (positions 0..keys − 1) whatever blocks the sequence holds. One memory-bound pass of keys × columns values.
/// </summary>
public static partial class PagingKernels
{
    [Kernel(Grid = "keys", GridY = "(columns + 127) / 128", GroupSize = "128")]
    public static void GatherCacheRowsBf16<TCache>(
        TCache cache,               // [cache rows, columns], e.g. latent rows [c ‖ k_pe] or index keys
        KeyPages pages,             // row 0's sequence: where its keys live
        ArrayView<ushort> gathered, // [keys, columns] out: bf16 bits, key p at row p
        int keys,
        int columns)
        where TCache : struct, IRowFormat<TCache>
    {
        int position = Grid.IdxX;
        int column = Grid.IdxY * 128 + Group.IdxX;
        if (column < columns)
            gathered[(long)position * columns + column] = Bf16.FromFloat(cache.Element(pages.CacheRow(0, position), columns, column));
    }
}
