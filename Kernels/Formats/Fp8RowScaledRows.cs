using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Formats;

/// <summary>
/// fp8 e4m3 rows with one fp32 scale per row: W[r, c] = e4m3(r, c) · scales[r]. This is DeepSeek-V3.2's FP8 indexer key
/// cache (one row per token, the scale <c>amax/448</c> of that key: <see cref="Indexer.IndexKeyCache"/>), unlike
/// <see cref="Fp8BlockRows"/>' 128×128 weight blocks. Since the scale is the same along a row, a dot product sums the
/// unscaled products and multiplies by the row's scale once.
/// </summary>
public struct Fp8RowScaledRows : IRowFormat<Fp8RowScaledRows>
{
    private const int PerChunk = 16; // e4m3 values per 16-byte chunk

    /// <summary>[rows · cols] e4m3 codes (a stack: [matrices · rows · cols]).</summary>
    public ArrayView<byte> Codes;

    /// <summary>[rows] one scale per row (a stack: [matrices · rows]).</summary>
    public ArrayView<float> Scales;

    public Fp8RowScaledRows(ArrayView<byte> codes, ArrayView<float> scales)
    {
        Codes = codes;
        Scales = scales;
    }

    public readonly Fp8RowScaledRows Matrix(int index, int rows, int cols)
    {
        long length = (long)rows * cols;
        return new Fp8RowScaledRows(Codes.SubView(index * length, length), Scales.SubView((long)index * rows, rows));
    }

    public readonly float Element(int row, int cols, int col) => Fp8E4M3.ToFloat(Codes[(long)row * cols + col]) * Scales[row];

    public readonly Float4 Elements4(int row, int cols, int col)
    {
        long start = (long)row * cols + col;
        float scale = Scales[row];
        return new Float4(Fp8E4M3.ToFloat(Codes[start]) * scale, Fp8E4M3.ToFloat(Codes[start + 1]) * scale,
            Fp8E4M3.ToFloat(Codes[start + 2]) * scale, Fp8E4M3.ToFloat(Codes[start + 3]) * scale);
    }

    public readonly float RowScaled(int row, float value) => value * Scales[row];

    /// <summary>The word of four codes as float bits in X; the row's scale stays out (<see cref="RowScaled"/>).</summary>
    public readonly Float4 LoadUnscaled4(int row, int cols, int col) =>
        new(Interop.IntAsFloat(Codes.Cast<uint>()[((long)row * cols + col) / 4]), 0f, 0f, 0f);

    /// <summary>The four codes decoded exactly, NaN included (<see cref="Fp8E4M3.ToFloat4"/>).</summary>
    public readonly Float4 DecodeUnscaled4(Float4 loaded) => Fp8E4M3.ToFloat4(Interop.FloatAsInt(loaded.X));

    /// <summary>The GPU body on the host for now (these formats' strided dots are not on the generated CPU path's hot path).</summary>
    public readonly float StridedRowDotCpu(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes) =>
        StridedRowDot(row, cols, x, xStart, lane, lanes);

    public readonly float StridedRowDot(int row, int cols, ArrayView<float> x, long xStart, int lane, int lanes)
    {
        long start = (long)row * cols;
        float total = 0f;
        if (KsVector.IsAligned16(Codes, start) && KsVector.IsAligned16(x, xStart))
        {
            int chunks = cols / PerChunk;
            var packed = Codes.SubView(start, (long)PerChunk * chunks).AsAligned(16).Cast<PackedWords>(); // [chunks] of 16 e4m3
            for (int c = lane; c < chunks; c += lanes)
                total += ChunkDot(packed[c], x, xStart + PerChunk * (long)c);
            for (int i = chunks * PerChunk + lane; i < cols; i += lanes)
                total += Fp8E4M3.ToFloat(Codes[start + i]) * x[xStart + i];
        }
        else
        {
            for (int i = lane; i < cols; i += lanes)
                total += Fp8E4M3.ToFloat(Codes[start + i]) * x[xStart + i];
        }
        return total * Scales[row];
    }

    public readonly float RowDot(int row, int cols, ArrayView<float> x, long xStart)
    {
        long start = (long)row * cols;
        float total = 0f;
        for (int i = 0; i < cols; i++)
            total += Fp8E4M3.ToFloat(Codes[start + i]) * x[xStart + i];
        return total * Scales[row];
    }

    /// <summary>The row decoded in 128-value pieces, one TensorPrimitives dot per piece, the row's scale applied to the sum.</summary>
    public readonly float RowDotCpu(int row, int cols, ArrayView<float> x, long xStart)
    {
        const int Piece = 128;
        ReadOnlySpan<byte> codes = HostSpan.Of(Codes, (long)row * cols, cols);
        ReadOnlySpan<float> values = HostSpan.Of(x, xStart, cols);
        Span<float> decoded = stackalloc float[Piece];
        float total = 0f;
        for (int start = 0; start < cols; start += Piece)
        {
            int count = Math.Min(Piece, cols - start);
            HostWiden.E4M3(codes.Slice(start, count), 1f, decoded);
            total += TensorPrimitives.Dot(decoded[..count], values.Slice(start, count));
        }
        return total * Scales[row];
    }

    public readonly bool TryRowsDotCpu(int firstRow, int rows, int cols, ArrayView<float> x, long xStart, Span<float> sums) => false;

    public readonly bool TryRowDotItemsCpu(int row, int cols, ArrayView<float> x, long xStart, int itemStride, int items, Span<float> sums) =>
        false;

    /// <summary>Each value decoded times the row's scale (what <see cref="Element"/> gives).</summary>
    public readonly void WidenRowCpu(int row, int cols, Span<float> destination) =>
        HostWiden.E4M3(HostSpan.Of(Codes, (long)row * cols, cols), Scales[row], destination);

    /// <summary>
    /// One <see cref="StridedRowDot"/> per row, each row's scale applied to its own sum. This format holds key caches,
    /// not GEMV weights, so the GEMV's tuning (several rows sharing each activation load, <paramref name="chunksInFlight"/>
    /// chunks in flight) is left out; the sums are the ones the contract asks for.
    /// </summary>
    public readonly ItemRowSums WarpRowPartials(int rows, int cols, ArrayView<float> x, ItemStarts xStarts, int items, int firstRow,
        int rowsPerWarp, int chunksInFlight, int lane, int lanes)
        => WarpRows.RowByRowPartials(this, rows, cols, x, xStarts, items, firstRow, rowsPerWarp, lane, lanes);

    /// <summary>16 e4m3 values (4 words, byte 0 first) against x[start .. start + 15], unscaled.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ChunkDot(PackedWords w, ArrayView<float> x, long start) =>
        Float4.Dot(Fp8E4M3.ToFloat4(w.A), KsVector.LoadFloat4(x, start)) + Float4.Dot(Fp8E4M3.ToFloat4(w.B), KsVector.LoadFloat4(x, start + 4))
        + Float4.Dot(Fp8E4M3.ToFloat4(w.C), KsVector.LoadFloat4(x, start + 8)) + Float4.Dot(Fp8E4M3.ToFloat4(w.D), KsVector.LoadFloat4(x, start + 12));
}
