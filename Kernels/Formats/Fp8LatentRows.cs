using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Formats;

/// <summary>
/// The MLA latent cache as DeepSeek-V3.2 keeps it (FlashMLA's FP8 sparse layout): one row per token of
/// <c>[c (L e4m3) | one fp32 scale per 128 latent values | k_pe (R bf16)]</c>, 656 bytes at L = 512, R = 64
/// (512 + 4·4 + 64·2). A row read as <c>cols = L + R</c> values is c[i] = e4m3 · scale[i / 128] for i &lt; L, then the
/// rope part widened from bf16 (rope positions are kept at bf16 because their values span a wider range than one
/// scale per block suits). Written by <see cref="Attention.MlaKernels.StoreKvCacheFp8"/>.
/// </summary>
/// <remarks>
/// The scale and rope parts start on 16-byte boundaries and each row is padded to a multiple of 16 bytes (no padding
/// at DeepSeek's widths), so with L a multiple of 16 every 16-byte chunk of a row holds 16 codes of one scale block,
/// the scales, or 8 bf16 values: the dot products read whole chunks, and an MLA tile's <see cref="Elements4"/> reads
/// one 4-byte word of codes. <see cref="LatentDim"/> travels with the view because the split of a row into its parts
/// is not implied by <c>cols</c>.
/// </remarks>
public struct Fp8LatentRows : IRowFormat<Fp8LatentRows>
{
    /// <summary>Latent values sharing one scale.</summary>
    public const int Block = 128;

    private const int CodesPerChunk = 16; // e4m3 values per 16-byte chunk
    private const int Bf16PerChunk = 8;   // bf16 values per 16-byte chunk

    /// <summary>[rows · RowBytes(L, R)] bytes (a stack: [matrices · rows · RowBytes]).</summary>
    public ArrayView<byte> Bytes;

    /// <summary>L: the e4m3 part of each row (a multiple of 16); the rest of a row of <c>cols</c> values is rope.</summary>
    public int LatentDim;

    public Fp8LatentRows(ArrayView<byte> bytes, int latentDim)
    {
        Bytes = bytes;
        LatentDim = latentDim;
    }

    /// <summary>Scales per row: one per 128 latent values (the last block may be partial).</summary>
    public static int ScaleCount(int latentDim) => (latentDim + Block - 1) / Block;

    /// <summary>Byte offset of the scales within a row.</summary>
    public static int ScaleOffset(int latentDim) => latentDim;

    /// <summary>Byte offset of the bf16 rope part within a row (after the scales, on a 16-byte boundary).</summary>
    public static int RopeOffset(int latentDim) => latentDim + RoundUp16(sizeof(float) * ScaleCount(latentDim));

    /// <summary>Bytes per token: 656 at DeepSeek-V3.2's L = 512, R = 64.</summary>
    public static int RowBytes(int latentDim, int ropeDim) => RoundUp16(RopeOffset(latentDim) + 2 * ropeDim);

    /// <summary>The scale of a block whose largest magnitude is <paramref name="amax"/>: amax/448, so the largest value
    /// maps to e4m3's largest finite one; an all-zero block gets 1 (its codes are zeros, and nothing divides by 0).</summary>
    public static float Fp8Scale(float amax) => amax > 0f ? amax / Fp8E4M3.MaxValue : 1f;

    /// <summary>Throws unless rows of <paramref name="latentDim"/> + <paramref name="ropeDim"/> values have this layout's alignment.</summary>
    public static void Validate(int latentDim, int ropeDim)
    {
        if (latentDim <= 0 || latentDim % CodesPerChunk != 0 || ropeDim < 0)
            throw new ArgumentException(
                $"the FP8 latent cache needs a latent width that is a positive multiple of {CodesPerChunk} and a rope width ≥ 0 (got {latentDim} and {ropeDim})");
    }

    private static int RoundUp16(int bytes) => (bytes + 15) / 16 * 16;

    public readonly Fp8LatentRows Matrix(int index, int rows, int cols)
    {
        long length = (long)rows * RowBytes(LatentDim, cols - LatentDim);
        return new Fp8LatentRows(Bytes.SubView(index * length, length), LatentDim);
    }

    public readonly float Element(int row, int cols, int col)
    {
        long rowStart = (long)row * RowBytes(LatentDim, cols - LatentDim);
        return col < LatentDim
            ? Fp8E4M3.ToFloat(Bytes[rowStart + col]) * StoredScale(rowStart, col / Block)
            : Bf16.ToFloat(RopeBits(rowStart, col - LatentDim));
    }

    /// <summary>The four values never straddle the parts or a scale block (L and 128 are multiples of 4): one word of
    /// codes times one scale, or two words of bf16.</summary>
    public readonly Float4 Elements4(int row, int cols, int col)
    {
        long rowStart = (long)row * RowBytes(LatentDim, cols - LatentDim);
        if (col < LatentDim)
        {
            Float4 codes = Fp8E4M3.ToFloat4(Word(rowStart + col));
            float scale = StoredScale(rowStart, col / Block);
            return new Float4(codes.X * scale, codes.Y * scale, codes.Z * scale, codes.W * scale);
        }
        long rope = rowStart + RopeOffset(LatentDim) + 2L * (col - LatentDim);
        uint low = Word(rope);
        uint high = Word(rope + 4);
        return new Float4(WarpRows.LowBf16(low), WarpRows.HighBf16(low), WarpRows.LowBf16(high), WarpRows.HighBf16(high));
    }

    /// <summary>The scales change along a row (they stay in <see cref="DecodeUnscaled4"/>'s values): <paramref name="value"/> itself.</summary>
    public readonly float RowScaled(int row, float value) => value;

    /// <summary>Latent values: the word of four codes as float bits in X, their block's scale in Y, Z = 0. Rope values: their
    /// two words of two bf16 in X and Y, Z = 1 (the four values never straddle the two parts).</summary>
    public readonly Float4 LoadUnscaled4(int row, int cols, int col)
    {
        long rowStart = (long)row * RowBytes(LatentDim, cols - LatentDim);
        if (col < LatentDim)
            return new Float4(Interop.IntAsFloat(Word(rowStart + col)), StoredScale(rowStart, col / Block), 0f, 0f);
        long rope = rowStart + RopeOffset(LatentDim) + 2L * (col - LatentDim);
        return new Float4(Interop.IntAsFloat(Word(rope)), Interop.IntAsFloat(Word(rope + 4)), 1f, 0f);
    }

    public readonly Float4 DecodeUnscaled4(Float4 loaded)
    {
        uint low = Interop.FloatAsInt(loaded.X);
        if (loaded.Z != 0f)
        {
            uint high = Interop.FloatAsInt(loaded.Y);
            return new Float4(WarpRows.LowBf16(low), WarpRows.HighBf16(low), WarpRows.LowBf16(high), WarpRows.HighBf16(high));
        }
        Float4 codes = Fp8E4M3.ToFloat4(low);
        return new Float4(codes.X * loaded.Y, codes.Y * loaded.Y, codes.Z * loaded.Y, codes.W * loaded.Y);
    }

    /// <summary>
    /// Lane l takes the latent chunks l, l + lanes, … (16 codes each, summed unscaled, then times the block's scale),
    /// then the rope chunks the same way (8 bf16 each); a rope width not a multiple of 8 ends in a scalar tail.
    /// </summary>
    /// <summary>The GPU body on the host for now (these formats' strided dots are not on the generated CPU path's hot path).</summary>
    public readonly float StridedRowDotCpu(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes) =>
        StridedRowDot(row, cols, x, xStart, lane, lanes);

    public readonly float StridedRowDot(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes)
    {
        int ropeDim = cols - LatentDim;
        long rowStart = (long)row * RowBytes(LatentDim, ropeDim);
        float total = 0f;
        if (!KsVector.IsAligned16(Bytes, rowStart) || !KsVector.IsAligned16(x, xStart))
        {
            for (int i = lane; i < cols; i += lanes)
                total += Element(row, cols, i) * x[xStart + i];
            return total;
        }

        var codes = Bytes.SubView(rowStart, LatentDim).AsAligned(16).Cast<PackedWords>(); // [L/16] of 16 e4m3
        int latentChunks = LatentDim / CodesPerChunk;
        for (int c = lane; c < latentChunks; c += lanes)
        {
            PackedWords w = codes[c];
            long column = (long)CodesPerChunk * c;
            float sum = Float4.Dot(Fp8E4M3.ToFloat4(w.A), KsVector.LoadFloat4(x, xStart + column))
                      + Float4.Dot(Fp8E4M3.ToFloat4(w.B), KsVector.LoadFloat4(x, xStart + column + 4))
                      + Float4.Dot(Fp8E4M3.ToFloat4(w.C), KsVector.LoadFloat4(x, xStart + column + 8))
                      + Float4.Dot(Fp8E4M3.ToFloat4(w.D), KsVector.LoadFloat4(x, xStart + column + 12));
            total += sum * StoredScale(rowStart, c * CodesPerChunk / Block);
        }

        int ropeChunks = ropeDim / Bf16PerChunk;
        long ropeX = xStart + LatentDim;
        if (ropeChunks > 0)
        {
            var rope = Bytes.SubView(rowStart + RopeOffset(LatentDim), 16L * ropeChunks).AsAligned(16).Cast<PackedWords>(); // [R/8] of 8 bf16
            for (int c = lane; c < ropeChunks; c += lanes)
            {
                long column = (long)Bf16PerChunk * c;
                total += WarpRows.Bf16ChunkDot(rope[c], KsVector.LoadFloat4(x, ropeX + column), KsVector.LoadFloat4(x, ropeX + column + 4));
            }
        }
        for (int i = ropeChunks * Bf16PerChunk + lane; i < ropeDim; i += lanes)
            total += Bf16.ToFloat(RopeBits(rowStart, i)) * x[ropeX + i];
        return total;
    }

    public readonly float RowDot(int row, int cols, ArrayView<float> x, long xStart) => StridedRowDot(row, cols, x, xStart, 0, 1);

    /// <summary>Each 128-value block decoded through a 256-entry table and dotted with TensorPrimitives, then the rope part
    /// with the host bf16 dot.</summary>
    public readonly float RowDotCpu(int row, int cols, ArrayView<float> x, long xStart)
    {
        int ropeDim = cols - LatentDim;
        int rowBytes = RowBytes(LatentDim, ropeDim);
        long rowStart = (long)row * rowBytes;
        ReadOnlySpan<byte> bytes = HostSpan.Of(Bytes, rowStart, rowBytes);
        ReadOnlySpan<float> scales = MemoryMarshal.Cast<byte, float>(bytes.Slice(ScaleOffset(LatentDim), sizeof(float) * ScaleCount(LatentDim)));
        ReadOnlySpan<float> values = HostSpan.Of(x, xStart, LatentDim);
        Span<float> decoded = stackalloc float[Block];
        float total = 0f;
        for (int start = 0, block = 0; start < LatentDim; start += Block, block++)
        {
            int count = Math.Min(Block, LatentDim - start);
            HostWiden.E4M3(bytes.Slice(start, count), 1f, decoded);
            total += TensorPrimitives.Dot(decoded[..count], values.Slice(start, count)) * scales[block];
        }
        if (ropeDim > 0)
        {
            var ropeBits = Bytes.SubView(rowStart + RopeOffset(LatentDim), 2L * ropeDim).Cast<ushort>(); // [R] bf16
            total += KsVectorCpu.DotBf16Cpu(ropeBits, 0, x, xStart + LatentDim, ropeDim);
        }
        return total;
    }

    public readonly bool TryRowsDotCpu(int firstRow, int rows, int cols, ArrayView<float> x, long xStart, Span<float> sums) => false;

    public readonly bool TryRowDotItemsCpu(int row, int cols, ArrayView<float> x, long xStart, int itemStride, int items, Span<float> sums) =>
        false;

    /// <summary>The latent part block by block with its scales, then the bf16 rope values.</summary>
    public readonly void WidenRowCpu(int row, int cols, Span<float> destination)
    {
        int ropeDim = cols - LatentDim;
        int rowBytes = RowBytes(LatentDim, ropeDim);
        ReadOnlySpan<byte> bytes = HostSpan.Of(Bytes, (long)row * rowBytes, rowBytes);
        ReadOnlySpan<float> scales = MemoryMarshal.Cast<byte, float>(bytes.Slice(ScaleOffset(LatentDim), sizeof(float) * ScaleCount(LatentDim)));
        for (int start = 0, block = 0; start < LatentDim; start += Block, block++)
        {
            int count = Math.Min(Block, LatentDim - start);
            HostWiden.E4M3(bytes.Slice(start, count), scales[block], destination.Slice(start, count));
        }
        HostWiden.Bf16(MemoryMarshal.Cast<byte, ushort>(bytes.Slice(RopeOffset(LatentDim), 2 * ropeDim)), destination.Slice(LatentDim, ropeDim));
    }

    /// <summary>A cache is read one row per dot product; for completeness (a GEMV over cache rows) each of the warp's rows
    /// is this lane's <see cref="StridedRowDot"/> share, so the lanes' partials still add up to the rows' dot products.</summary>
    public readonly ItemRowSums WarpRowPartials(int rows, int cols, ArrayView<float> x, ItemStarts xStarts, int items, int firstRow,
        int rowsPerWarp, int chunksInFlight, int lane, int lanes)
        => WarpRows.RowByRowPartials(this, rows, cols, x, xStarts, items, firstRow, rowsPerWarp, lane, lanes);

    /// <summary>The scale stored for <paramref name="block"/> of the row starting at byte <paramref name="rowStart"/> (what
    /// <see cref="Fp8Scale"/> computed when the row was written).</summary>
    private readonly float StoredScale(long rowStart, int block) =>
        Interop.IntAsFloat(Word(rowStart + ScaleOffset(LatentDim) + sizeof(float) * (long)block));

    /// <summary>bf16 bits of rope value <paramref name="index"/> of the row starting at byte <paramref name="rowStart"/>.</summary>
    private readonly ushort RopeBits(long rowStart, int index)
    {
        long at = rowStart + RopeOffset(LatentDim) + 2L * index;
        return (ushort)(Bytes[at] | (Bytes[at + 1] << 8));
    }

    /// <summary>The little-endian 32-bit word at byte <paramref name="at"/> (a multiple of 4).</summary>
    private readonly uint Word(long at) => Bytes.SubView(at, sizeof(uint)).Cast<uint>()[0];
}
