using ILGPU;

namespace KernelSharp.Kernels.Formats;

/// <summary>
/// A weight matrix [rows, cols] whose stored values are exact in bf16 (bf16 itself; e4m3, every value of which is a
/// bf16, with DeepSeek's 128×128 block scales applied outside the products), read by the tensor-core kernels: 16 values
/// at a time by the GEMV (<see cref="Linear.GemvKernels.TensorCoreGemv{TWeights, TItems}"/>), and staged into shared
/// memory as bf16 tiles by the prompt GEMM (<see cref="Linear.TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/>).
/// Loading and decoding (fetching and landing) are separate members so that a kernel can have its loads in flight before
/// it decodes the first of them.
/// </summary>
/// <remarks>Implementations: <see cref="Bf16Rows"/>, <see cref="Fp8BlockRows"/>. fp32 weights are not exact in bf16 and
/// stay on the CUDA-core GEMV.</remarks>
public interface ITensorCoreRows<TSelf> : IRowFormat<TSelf> where TSelf : struct, ITensorCoreRows<TSelf>
{
    /// <summary>
    /// W[row, col … col + 15] as stored, with 16-byte loads: bf16 fills all eight words (32 bytes), e4m3 the first four
    /// (16 bytes). <paramref name="col"/> is a multiple of 16 and <see cref="TensorCoreReadable"/> held.
    /// </summary>
    Words8 LoadSixteen(int row, int cols, int col);

    /// <summary>A <see cref="LoadSixteen"/> result as eight words of two bf16 (value 2i in the low half of word i),
    /// unscaled, exactly.</summary>
    Words8 Bf16Of(Words8 stored);

    /// <summary>Nonzero where a stored value is NaN (e4m3's 0x7F/0xFF codes, which <see cref="Bf16Of"/> does not keep);
    /// 0 for formats whose NaN survives the conversion.</summary>
    uint NaNFlagsOf(Words8 stored);

    /// <summary>Whether the values carry a scale per block of 128 rows × 128 columns: then a kernel sums each k-block
    /// apart and multiplies it by <see cref="BlockScale"/> (false: one running sum, no multiply).</summary>
    bool UsesBlockScales();

    /// <summary>The scale of the block holding row <paramref name="row"/> and columns kBlock·128 … kBlock·128 + 127; 1 without block scales.</summary>
    float BlockScale(int row, int cols, int kBlock);

    /// <summary>Host check: whether the kernel's 16-byte loads can read this matrix with <paramref name="cols"/> columns
    /// (cols a positive multiple of 128, the first value on a 16-byte boundary).</summary>
    bool TensorCoreReadable(int cols);

    /// <summary>
    /// Whether rows of <paramref name="k"/> stored values all start on 16 bytes, so a tile's 16-byte pieces can be moved
    /// whole (else <see cref="FetchTileStage"/> reads element by element).
    /// </summary>
    bool TileRowsAligned16(int k);

    /// <summary>
    /// Starts staging W rows [rowStart, rowStart + tileRows) × k [k0, k0 + 32) as bf16 into the shared stage at
    /// <paramref name="stageBase"/> of <paramref name="tile"/> (64-byte rows of 32 bf16, XOR-swizzled as
    /// <see cref="Linear.TensorCoreGemmTiles.Swizzled"/>), as thread <paramref name="thread"/> of <paramref name="threads"/>
    /// (threads = tileRows or 2·tileRows, rowStart a multiple of threads): bf16 issues its cp.async copies, which land
    /// by the caller's next <see cref="Dsl.TensorCore.CopyAsyncWait"/>, and returns nothing; e4m3 loads its 16-byte runs
    /// of codes and their block scales into the returned registers, for <see cref="LandTileStage"/>. Values outside
    /// [rows, k] read as 0.
    /// </summary>
    FetchedTileRuns FetchTileStage(ArrayView<ushort> tile, int stageBase, int rows, int tileRows, int k, int rowStart, int k0,
        int thread, int threads, bool aligned);

    /// <summary>
    /// Finishes what <see cref="FetchTileStage"/> started with the same arguments: e4m3 multiplies each code by its
    /// block's scale, rounds to bf16 and stores it into the stage; bf16 has nothing left to do (cp.async cannot convert,
    /// so the two pipelines differ only here). The caller lands a stage only after every warp is done reading it.
    /// </summary>
    void LandTileStage(ArrayView<ushort> tile, int stageBase, FetchedTileRuns fetched, int rows, int tileRows, int k, int rowStart,
        int k0, int thread, int threads);
}
