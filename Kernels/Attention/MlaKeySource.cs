using ILGPU;
using KernelSharp.Kernels.Paging;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Which cache rows a query of <see cref="MlaKernels.MlaAttention"/> attends, and how they are shared among groups:
/// the key-source axis of MLA attention, as <see cref="Formats.IRowFormat{TSelf}"/> is its cache-format axis. The kernel
/// takes it as a type parameter (<c>where TKeys : struct, IMlaKeySource&lt;TKeys&gt;</c>); ILGPU inlines these members
/// and folds the constant ones, so each source compiles to what a kernel written for it would be.
/// </summary>
/// <remarks>
/// Sources: <see cref="DenseKeys"/> (causal: keys 0 … position, through a paged or unpaged cache; <see cref="DenseKeySlices"/>
/// the same keys in slices for decode), <see cref="SelectedKeys"/> (the indexer's selection,
/// visible keys first, see <see cref="SelectionKernels.CompactSelection"/>), <see cref="SelectedKeySlices"/> (the same
/// list cut into slices, one per group, merged by <see cref="MlaKernels.CombineMlaSplits"/>).
/// </remarks>
public interface IMlaKeySource<TSelf> where TSelf : struct, IMlaKeySource<TSelf>
{
    /// <summary>Slices each query's key list is cut into; grid Y is slices × head blocks, slice-major.</summary>
    int Slices { get; }

    /// <summary>
    /// True when a group sees only a slice of the keys, so it writes its unnormalized accumulator with its running max
    /// and sum for <see cref="MlaKernels.CombineMlaSplits"/>; false when it sees them all and writes o_lat itself.
    /// </summary>
    bool WritesPartials { get; }

    /// <summary>The slice that grid row <paramref name="gridY"/> (slice · headBlocks + head block) works on.</summary>
    int Slice(int gridY, int headBlocks);

    /// <summary>Positions [Start, End) of the query's key list that the slice covers (Start ≤ End).</summary>
    MlaKeyRange Range(int query, int slice);

    /// <summary>The cache row of key <paramref name="index"/> of the query's key list.</summary>
    int Row(int query, int index);
}

/// <summary>Positions [Start, End) of one query's key list.</summary>
public readonly struct MlaKeyRange(int start, int end)
{
    public readonly int Start = start;

    public readonly int End = end;
}

/// <summary>
/// Dense causal attention: query q attends its keys at positions 0, 1, …, pages.Position(q) in that order, key p read
/// from cache row <c>pages.CacheRow(q, p)</c> (<see cref="KeyPages"/>; unpaged: rows 0 … position).
/// </summary>
public readonly struct DenseKeys(KeyPages pages) : IMlaKeySource<DenseKeys>
{
    /// <summary>[Q] each query's position and where its keys live.</summary>
    public readonly KeyPages Pages = pages;

    public int Slices => 1;

    public bool WritesPartials => false;

    public int Slice(int gridY, int headBlocks) => 0;

    public MlaKeyRange Range(int query, int slice) => new(0, Pages.Position(query) + 1);

    public int Row(int query, int index) => Pages.CacheRow(query, index);
}

/// <summary>
/// Dense causal attention cut into slices for decode on a GPU: a few queries at short context (below index_topk, or
/// every query of a dense model) would otherwise be a handful of groups each walking all its keys; slice s of query q
/// covers whole tiles of keys 0 … position like <see cref="SelectedKeySlices"/> does of a selection (trailing slices
/// may be empty), merged by <see cref="MlaKernels.CombineMlaSplits"/>.
/// </summary>
public readonly struct DenseKeySlices(KeyPages pages, int slices) : IMlaKeySource<DenseKeySlices>
{
    /// <summary>[Q] each query's position and where its keys live.</summary>
    public readonly KeyPages Pages = pages;

    private readonly int slices = slices;

    public int Slices => slices;

    public bool WritesPartials => true;

    public int Slice(int gridY, int headBlocks) => gridY / headBlocks;

    public MlaKeyRange Range(int query, int slice)
    {
        int count = Pages.Position(query) + 1;
        int tilesPerSlice = ((count + MlaTile.KeysPerTile - 1) / MlaTile.KeysPerTile + slices - 1) / slices;
        int start = slice * tilesPerSlice * MlaTile.KeysPerTile;
        int end = Math.Min(count, start + tilesPerSlice * MlaTile.KeysPerTile);
        return new(start, Math.Max(start, end));
    }

    public int Row(int query, int index) => Pages.CacheRow(query, index);
}

/// <summary>Sparse attention: query q attends the first counts[q] rows of its row of <c>selected</c>, in any order.</summary>
public readonly struct SelectedKeys(ArrayView<int> selected, ArrayView<int> counts, int stride) : IMlaKeySource<SelectedKeys>
{
    /// <summary>[Q, Stride] cache rows each query attends.</summary>
    public readonly ArrayView<int> Selected = selected;

    /// <summary>[Q] selected keys per query (0 gives a zero output).</summary>
    public readonly ArrayView<int> Counts = counts;

    public readonly int Stride = stride;

    public int Slices => 1;

    public bool WritesPartials => false;

    public int Slice(int gridY, int headBlocks) => 0;

    public MlaKeyRange Range(int query, int slice) => new(0, Counts[query]);

    public int Row(int query, int index) => Selected[(long)query * Stride + index];
}

/// <summary>
/// Split-key sparse attention for decode on a GPU: one query has only heads/8 head blocks (16 groups at 128 heads), too
/// few to fill a GPU, so its selected keys are also cut into <see cref="Slices"/> slices of whole tiles, one group each.
/// </summary>
public readonly struct SelectedKeySlices(ArrayView<int> selected, ArrayView<int> counts, int stride, int slices) : IMlaKeySource<SelectedKeySlices>
{
    /// <summary>[Q, Stride] cache rows each query attends.</summary>
    public readonly ArrayView<int> Selected = selected;

    /// <summary>[Q] selected keys per query.</summary>
    public readonly ArrayView<int> Counts = counts;

    public readonly int Stride = stride;

    private readonly int slices = slices;

    public int Slices => slices;

    public bool WritesPartials => true;

    public int Slice(int gridY, int headBlocks) => gridY / headBlocks;

    /// <summary>Slices are whole tiles, so every slice but the last starts and ends on a tile boundary; trailing slices may be empty.</summary>
    public MlaKeyRange Range(int query, int slice)
    {
        int count = Counts[query];
        int tilesPerSlice = ((count + MlaTile.KeysPerTile - 1) / MlaTile.KeysPerTile + slices - 1) / slices;
        int start = slice * tilesPerSlice * MlaTile.KeysPerTile;
        int end = Math.Min(count, start + tilesPerSlice * MlaTile.KeysPerTile);
        return new(start, Math.Max(start, end));
    }

    public int Row(int query, int index) => Selected[(long)query * Stride + index];
}
