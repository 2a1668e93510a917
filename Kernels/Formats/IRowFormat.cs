using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Formats;

/// <summary>
/// A matrix [rows, cols] stored row-major in one storage format (weights: one row per output feature; a latent cache:
/// one row per token): what a kernel needs to read it, so a GEMV, GEMM, grouped-expert FFN, embedding or attention over
/// a cache is written once and specialized per format. Kernels take
/// the format as a type parameter (<c>Gemv&lt;TWeights&gt;(TWeights weight, ...) where TWeights : struct,
/// IRowFormat&lt;TWeights&gt;</c>); ILGPU compiles one kernel per format and inlines these members, so the compiled
/// code is what a hand-written kernel for that format would be. Every value is widened to fp32 as it is read.
/// </summary>
/// <remarks>
/// Implementations: <see cref="F32Rows"/>, <see cref="Bf16Rows"/>, <see cref="Fp8BlockRows"/> (e4m3 with DeepSeek's
/// 128×128 block scales), <see cref="Fp8RowScaledRows"/> (e4m3 with one scale per row: the FP8 indexer key cache), <see cref="Fp8LatentRows"/> (the FP8
/// MLA latent cache: e4m3 with a scale per 128 values, then bf16 rope values).
/// The strided and warp-row members read 16-byte chunks (4 fp32, 8 bf16 or 16 e4m3 values) where
/// the row and the activations sit on 16-byte boundaries, else a scalar loop with the same sum.
/// </remarks>
public interface IRowFormat<TSelf> where TSelf : struct, IRowFormat<TSelf>
{
    /// <summary>Matrix <paramref name="index"/> of a stack of [rows, cols] matrices stored one after another, each with its
    /// own scale grid (the routed experts of one projection).</summary>
    TSelf Matrix(int index, int rows, int cols);

    /// <summary>W[row, col] in fp32 (block scale applied).</summary>
    float Element(int row, int cols, int col);

    /// <summary>W[row, col … col + 3] in fp32; <paramref name="col"/> is a multiple of 4 and the row holds all four.</summary>
    Float4 Elements4(int row, int cols, int col);

    /// <summary>
    /// <paramref name="value"/> times the scale that every value of <paramref name="row"/> shares and that the format
    /// stores apart from them (<see cref="Fp8RowScaledRows"/>); <paramref name="value"/> itself for formats without one
    /// (<see cref="Fp8BlockRows"/>' scales change along a row, so they stay in <see cref="DecodeUnscaled4"/>'s values).
    /// </summary>
    /// <remarks>
    /// This and the two members below serve a kernel that streams a row through registers and loads the next values
    /// before it uses the current ones (the indexer's <see cref="Indexer.IndexerKernels.IndexerScoresWarpKeys{TKeys}"/>):
    /// <see cref="Elements4"/> decodes and scales where it loads, so an e4m3 decode (with its NaN branch) would wait for
    /// its load in front of the arithmetic it should overlap, and a per-row scale would be multiplied into every value
    /// instead of once per row.
    /// </remarks>
    float RowScaled(int row, float value);

    /// <summary>
    /// W[row, col … col + 3] as stored, not yet decoded, in a <see cref="Float4"/> of registers for
    /// <see cref="DecodeUnscaled4"/>: fp32 keeps the values themselves (so its loop is the plain one), bf16 its two words
    /// as bits in X and Y, e4m3 its one word as bits in X (<see cref="Fp8BlockRows"/>: the block scale in Y).
    /// <paramref name="col"/> and <paramref name="cols"/> are multiples of 4 and row 0 starts where the format's wide
    /// load needs it (fp32: 16 bytes; bf16, e4m3: 4).
    /// </summary>
    Float4 LoadUnscaled4(int row, int cols, int col);

    /// <summary>The fp32 values of a <see cref="LoadUnscaled4"/> result, before <see cref="RowScaled"/>'s scale.</summary>
    Float4 DecodeUnscaled4(Float4 loaded);

    /// <summary>
    /// This lane's share of Σ_c W[row, c] · x[xStart + c]: lane l of <paramref name="lanes"/> takes the 16-byte chunks
    /// l, l + lanes, … so consecutive lanes read consecutive bytes (coalesced). One lane: the whole row.
    /// </summary>
    [Intrinsic(CpuBody = nameof(StridedRowDotCpu))]
    float StridedRowDot(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes);

    /// <summary>
    /// <see cref="StridedRowDot"/> on host threads (never compiled for a GPU): the same share of the row, read as spans.
    /// The GPU body's 16-byte view casts run on the host otherwise, where ILGPU checks each one under a lock.
    /// </summary>
    float StridedRowDotCpu(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes);

    /// <summary>The whole row's dot product (one thread); the generated CPU path calls <see cref="RowDotCpu"/> instead.</summary>
    [Intrinsic(CpuBody = nameof(RowDotCpu))]
    float RowDot(int row, int cols, ArrayView<float> x, long xStart);

    /// <summary><see cref="RowDot"/> on host threads: TensorPrimitives over the row (never compiled for a GPU).</summary>
    float RowDotCpu(int row, int cols, ArrayView<float> x, long xStart);

    /// <summary>
    /// Row <paramref name="row"/> in fp32 into <paramref name="destination"/>[..cols], each value what <see cref="Element"/>
    /// gives (scales applied), vectorized (<see cref="HostWiden"/>): the host GEMV and GEMM read weights through it
    /// (never compiled for a GPU).
    /// </summary>
    void WidenRowCpu(int row, int cols, Span<float> destination);

    /// <summary>
    /// sums[r] = row <paramref name="firstRow"/> + r times the one vector x[xStart …] in the format's own host form, for
    /// decode, where each row streams from memory once and is not widened into scratch first (never compiled for a GPU).
    /// Each sum is the bits that <see cref="Linear.HostRowDots.RowTimesItems{TWeights}"/> gives for that row and vector,
    /// alone or among others. False: the format has no such form for this shape on this machine, and the caller goes
    /// through <see cref="WidenRowCpu"/>.
    /// </summary>
    bool TryRowsDotCpu(int firstRow, int rows, int cols, ArrayView<float> x, long xStart, Span<float> sums);

    /// <summary>
    /// sums[i] = row <paramref name="row"/> times x[xStart + i·itemStride …] for <paramref name="items"/> ≤ 4 vectors in
    /// the format's own host form, each the bits <see cref="TryRowsDotCpu"/> gives for that vector alone (never compiled for
    /// a GPU). False where <see cref="TryRowsDotCpu"/> is false for this row, or where the widened row's order already is
    /// that form's order (bf16).
    /// </summary>
    bool TryRowDotItemsCpu(int row, int cols, ArrayView<float> x, long xStart, int itemStride, int items, Span<float> sums);

    /// <summary>
    /// Partial sums of rows firstRow … firstRow + rowsPerWarp − 1 (X, Y, Z, W of each item; rowsPerWarp ≤ 4) against
    /// <paramref name="items"/> activation rows (1, 2 or 4, starting at <paramref name="xStarts"/>) over this lane's
    /// chunks (<see cref="Linear.GemvKernels.GemvRows{TWeights}"/>): lane k of <paramref name="lanes"/> takes chunks k,
    /// k + lanes, …, with <paramref name="chunksInFlight"/> chunks per row loaded before any is used. Each weight chunk is
    /// loaded once for all items. Rows past the end read the last row. Each (row, item) sum is formed by the same
    /// additions in the same order whatever <paramref name="items"/>, <paramref name="rowsPerWarp"/> and
    /// <paramref name="chunksInFlight"/> are, so a batch item's result does not depend on the batch it is in.
    /// </summary>
    ItemRowSums WarpRowPartials(int rows, int cols, ArrayView<float> x, ItemStarts xStarts, int items, int firstRow, int rowsPerWarp,
        int chunksInFlight, int lane, int lanes);
}
