using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Moe;

/// <summary>Per-thread helpers of the expert FFN kernels.</summary>
public static class ExpertMath
{
    /// <summary>Edge of DeepSeek's square FP8 weight blocks.</summary>
    public const int Fp8Block = 128;

    /// <summary>silu(gate)·up, silu(g) = g·sigmoid(g).</summary>
    public static float SwiGlu(float gate, float up) => gate / (1f + MathF.Exp(-gate)) * up;

    /// <summary>
    /// Index of the first block scale of weight row <paramref name="row"/> of expert <paramref name="expert"/>, in a
    /// stacked scale tensor [E, ceil(rows/128), ceil(cols/128)].
    /// </summary>
    public static long BlockScaleRow(int expert, int row, int rows, int cols)
    {
        long blockRows = (rows + Fp8Block - 1) / Fp8Block;
        long blockCols = (cols + Fp8Block - 1) / Fp8Block;
        return ((long)expert * blockRows + row / Fp8Block) * blockCols;
    }

    /// <summary>
    /// Σ_i e4m3(w[wStart+i])·scale(i)·x[xStart+i] for i &lt; length, the scale constant over each 128-wide block:
    /// each block's partial sum is multiplied by its scale once (fp32 accumulation throughout).
    /// </summary>
    public static float DotFp8Blocked(
        ArrayView<byte> w, long wStart, ArrayView<float> scales, long scaleStart, ArrayView<float> x, long xStart, int length)
    {
        float total = 0f;
        for (int blockStart = 0; blockStart < length; blockStart += Fp8Block)
        {
            int blockEnd = blockStart + Fp8Block < length ? blockStart + Fp8Block : length;
            float partial = 0f;
            for (int i = blockStart; i < blockEnd; i++)
                partial += Fp8E4M3.ToFloat(w[wStart + i]) * x[xStart + i];
            total += partial * scales[scaleStart + blockStart / Fp8Block];
        }
        return total;
    }

    /// <summary>
    /// This lane's share of a row dot product Σ bf16(w[wStart+i])·x[xStart+i]: with one lane the whole row (16-byte
    /// loads / TensorPrimitives); with a warp, lane l takes the 8-element pieces l, l+32, … so the warp reads each
    /// 512-byte stretch of the row together. The caller sums the lanes (<see cref="KsWarp.Sum"/>).
    /// </summary>
    public static float PartialDotBf16(ArrayView<ushort> w, long wStart, ArrayView<float> x, long xStart, int length, int lane, int lanes)
    {
        if (lanes == 1)
            return KsVector.DotBf16(w, wStart, x, xStart, length);
        float partial = 0f;
        for (int d = lane * 8; d < length; d += lanes * 8)
            partial += KsVector.DotBf16(w, wStart + d, x, xStart + d, length - d < 8 ? length - d : 8);
        return partial;
    }

    /// <summary>
    /// This lane's share of <see cref="DotFp8Blocked"/>: the whole row with one lane; with a warp, lane l takes the
    /// 16-byte pieces l, l+32, … (a piece never straddles a 128-wide scale block), each scaled by its block's scale.
    /// </summary>
    public static float PartialDotFp8Blocked(
        ArrayView<byte> w, long wStart, ArrayView<float> scales, long scaleStart, ArrayView<float> x, long xStart, int length, int lane, int lanes)
    {
        if (lanes == 1)
            return DotFp8Blocked(w, wStart, scales, scaleStart, x, xStart, length);
        float partial = 0f;
        for (int d = lane * 16; d < length; d += lanes * 16)
        {
            int end = d + 16 < length ? d + 16 : length;
            float piece = 0f;
            for (int i = d; i < end; i++)
                piece += Fp8E4M3.ToFloat(w[wStart + i]) * x[xStart + i];
            partial += piece * scales[scaleStart + d / Fp8Block];
        }
        return partial;
    }
}
