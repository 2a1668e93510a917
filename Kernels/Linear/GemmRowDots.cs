using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// The group-size-1 shape of <see cref="GemmKernels"/>: one thread computes its whole 64×64 tile of C as row dot
/// products, weight row outermost so each weight row is read from memory once and reused from cache for the tile's
/// tokens. The dots are span intrinsics, so the generated CPU path runs them with TensorPrimitives.
/// </summary>
public static class GemmRowDots
{
    public static void TileF32(ArrayView<float> a, ArrayView<float> weight, ArrayView<float> c, int m, int n, int k, int rowStart, int colStart)
    {
        int rowEnd = IntrinsicMath.Min(rowStart + GemmTiles.TileM, m);
        int colEnd = IntrinsicMath.Min(colStart + GemmTiles.TileN, n);
        for (int col = colStart; col < colEnd; col++)
            for (int row = rowStart; row < rowEnd; row++)
                c[(long)row * n + col] = KsVector.Dot(weight, (long)col * k, a, (long)row * k, k);
    }

    public static void TileBf16(ArrayView<float> a, ArrayView<ushort> weight, ArrayView<float> c, int m, int n, int k, int rowStart, int colStart)
    {
        int rowEnd = IntrinsicMath.Min(rowStart + GemmTiles.TileM, m);
        int colEnd = IntrinsicMath.Min(colStart + GemmTiles.TileN, n);
        for (int col = colStart; col < colEnd; col++)
            for (int row = rowStart; row < rowEnd; row++)
                c[(long)row * n + col] = KsVector.DotBf16(weight, (long)col * k, a, (long)row * k, k);
    }

    public static void TileFp8(ArrayView<float> a, ArrayView<byte> weight, ArrayView<float> scaleInv, ArrayView<float> c,
        int m, int n, int k, int rowStart, int colStart)
    {
        int rowEnd = IntrinsicMath.Min(rowStart + GemmTiles.TileM, m);
        int colEnd = IntrinsicMath.Min(colStart + GemmTiles.TileN, n);
        long scaleCols = (k + GemvRowParts.Fp8Block - 1) / GemvRowParts.Fp8Block;
        for (int col = colStart; col < colEnd; col++)
        {
            long scaleStart = (col / GemvRowParts.Fp8Block) * scaleCols;
            for (int row = rowStart; row < rowEnd; row++)
                c[(long)row * n + col] = Fp8RowDot.Dot(weight, (long)col * k, scaleInv, scaleStart, a, (long)row * k, k);
        }
    }
}
