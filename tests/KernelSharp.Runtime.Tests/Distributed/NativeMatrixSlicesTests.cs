using System.Runtime.InteropServices;
using KernelSharp.Runtime.Model.Backend;
using Xunit;

namespace KernelSharp.Runtime.Tests.Distributed;

/// <summary>A rank's heads of a projection, cut out of the stored matrix: the bytes and the FP8 scales of exactly that block.</summary>
public sealed class NativeMatrixSlicesTests
{
    [Theory]
    [InlineData(1, 3, 2, 4)]
    [InlineData(0, 5, 0, 7)]
    [InlineData(4, 1, 6, 1)]
    public void A_bf16_block_holds_exactly_its_rows_and_columns(int firstRow, int rowCount, int firstColumn, int columnCount)
    {
        var bits = Enumerable.Range(0, 5 * 7).Select(i => (ushort)(1000 + i)).ToArray();
        var matrix = new NativeMatrix(5, 7, NativeMatrixFormat.Bf16, InSmallPieces(MemoryMarshal.AsBytes(bits.AsSpan()).ToArray()), null);
        var block = NativeMatrixSlices.Block(matrix, firstRow, rowCount, firstColumn, columnCount)!;
        Assert.Equal((rowCount, columnCount, NativeMatrixFormat.Bf16), (block.Rows, block.Columns, block.Format));
        var expected = Enumerable.Range(firstRow, rowCount).SelectMany(r => Enumerable.Range(firstColumn, columnCount).Select(c => (ushort)(1000 + (r * 7) + c)));
        Assert.Equal(expected, block.Values.ToArray<ushort>());
    }

    [Fact]
    public void An_fp8_block_on_scale_block_boundaries_keeps_its_codes_and_scales()
    {
        const int rows = 256, columns = 300; // the last scale column is a partial block of 44
        var codes = Enumerable.Range(0, rows * columns).Select(i => (byte)(i * 7 % 251)).ToArray();
        var scales = Enumerable.Range(0, 2 * 3).Select(i => 0.5f + i).ToArray(); // [2, 3]
        var matrix = new NativeMatrix(rows, columns, NativeMatrixFormat.Fp8E4M3, InSmallPieces(codes), scales);

        var block = NativeMatrixSlices.Block(matrix, 128, 128, 128, 172)!; // the second block row, the last two block columns
        Assert.Equal((128, 172), (block.Rows, block.Columns));
        var expected = Enumerable.Range(128, 128).SelectMany(r => Enumerable.Range(128, 172).Select(c => codes[(r * columns) + c]));
        Assert.Equal(expected, block.Values.ToArray<byte>());
        Assert.Equal([scales[4], scales[5]], block.ScaleInv!);
    }

    [Theory]
    [InlineData(64, 64, 0, 300)]   // rows cut inside a scale block
    [InlineData(0, 256, 100, 128)] // columns start inside one
    [InlineData(0, 256, 0, 200)]   // columns end inside one, not at the edge
    public void An_fp8_block_that_would_cut_a_scale_block_is_refused(int firstRow, int rowCount, int firstColumn, int columnCount)
    {
        var matrix = new NativeMatrix(256, 300, NativeMatrixFormat.Fp8E4M3, new byte[256 * 300], new float[6]);
        Assert.Null(NativeMatrixSlices.Block(matrix, firstRow, rowCount, firstColumn, columnCount));
    }

    /// <summary>The bytes as a concatenation of 3-byte pieces, so chunks end inside rows as a mapped file's chunks may.</summary>
    private static WeightBytes InSmallPieces(byte[] bytes) =>
        WeightBytes.Concat([.. bytes.Chunk(3).Select(piece => WeightBytes.FromArray(piece))]);
}
