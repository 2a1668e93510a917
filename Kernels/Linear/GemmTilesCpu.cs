using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Linear;

/// <summary>
/// Host bodies of <see cref="GemmTiles"/>' intrinsics for the generated CPU path (never compiled for a GPU).
/// </summary>
/// <remarks>
/// The Gemm kernel's CPU form as 64 × 64 row dot products reads two values per multiply-add and, for
/// bf16 weights, widens each weight row once per token. Here a panel of four weight rows is widened to fp32 once per tile
/// (the format's own values: bf16 shifted, fp32 as stored, others through <see cref="IRowFormat{TSelf}.Elements4"/>),
/// then a 4 × 4 block of outputs keeps sixteen 512-bit sums in registers: per 16 columns, 4 activation and 4 weight
/// loads feed 16 fused multiply-adds (the register blocking of a BLAS micro-kernel, which CpuBackend's dot-product
/// loops lack). Each output is still one fp32 sum over k, in another order than a single dot product.
/// </remarks>
public static class GemmTilesCpu
{
    private const int Block = 4; // weight rows per panel, and tokens per register block

    [ThreadStatic]
    private static float[]? panelScratch; // [Block · k]: the tile's current weight rows in fp32, per host thread

    /// <summary>C[rowStart..rowEnd, colStart..colEnd] = A rows · W rows; true: the tile is done.</summary>
    public static bool HostTileCpu<TWeights>(ArrayView<float> a, TWeights weight, ArrayView<float> c, int n, int k, int rowStart, int rowEnd,
        int colStart, int colEnd)
        where TWeights : struct, IRowFormat<TWeights>
    {
        if (rowEnd <= rowStart || colEnd <= colStart)
            return true;
        int rows = rowEnd - rowStart;
        ReadOnlySpan<float> activations = HostSpan.Of(a, (long)rowStart * k, rows * k); // [rows, k]
        if (panelScratch is null || panelScratch.Length < Block * k)
            panelScratch = new float[Block * k];
        Span<float> panel = panelScratch.AsSpan(0, Block * k);
        Span<float> output = HostSpan.Of(c, (long)rowStart * n, (rows - 1) * n + colEnd); // rows [rowStart, rowEnd) of C

        for (int col = colStart; col < colEnd; col += Block)
        {
            int panelRows = Math.Min(Block, colEnd - col);
            for (int r = 0; r < panelRows; r++)
                weight.WidenRowCpu(col + r, k, panel.Slice(r * k, k));

            int row = 0;
            if (panelRows == Block && Vector512.IsHardwareAccelerated && k >= 16)
            {
                for (; row + Block <= rows; row += Block)
                    Block4x4(activations.Slice(row * k, Block * k), panel, k, output.Slice(row * n + col), n);
            }
            for (; row < rows; row++)
            {
                var x = activations.Slice(row * k, k);
                for (int r = 0; r < panelRows; r++)
                    output[row * n + col + r] = TensorPrimitives.Dot(x, panel.Slice(r * k, k));
            }
        }
        return true;
    }

    /// <summary>output[t, r] = x[t] · w[r] for 4 tokens × 4 weight rows (k ≥ 16), sixteen sums held in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a hot loop from its first call: tier 0 would not keep the sums in registers
    private static void Block4x4(ReadOnlySpan<float> x, ReadOnlySpan<float> w, int k, Span<float> output, int n)
    {
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float x1 = ref Unsafe.Add(ref x0, k);
        ref float x2 = ref Unsafe.Add(ref x0, 2 * k);
        ref float x3 = ref Unsafe.Add(ref x0, 3 * k);
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float w1 = ref Unsafe.Add(ref w0, k);
        ref float w2 = ref Unsafe.Add(ref w0, 2 * k);
        ref float w3 = ref Unsafe.Add(ref w0, 3 * k);
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector512<float> s10 = default, s11 = default, s12 = default, s13 = default;
        Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default;
        Vector512<float> s30 = default, s31 = default, s32 = default, s33 = default;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            nuint at = (nuint)i;
            var b0 = Vector512.LoadUnsafe(ref w0, at);
            var b1 = Vector512.LoadUnsafe(ref w1, at);
            var b2 = Vector512.LoadUnsafe(ref w2, at);
            var b3 = Vector512.LoadUnsafe(ref w3, at);
            var a = Vector512.LoadUnsafe(ref x0, at);
            s00 = Vector512.FusedMultiplyAdd(a, b0, s00); s01 = Vector512.FusedMultiplyAdd(a, b1, s01);
            s02 = Vector512.FusedMultiplyAdd(a, b2, s02); s03 = Vector512.FusedMultiplyAdd(a, b3, s03);
            a = Vector512.LoadUnsafe(ref x1, at);
            s10 = Vector512.FusedMultiplyAdd(a, b0, s10); s11 = Vector512.FusedMultiplyAdd(a, b1, s11);
            s12 = Vector512.FusedMultiplyAdd(a, b2, s12); s13 = Vector512.FusedMultiplyAdd(a, b3, s13);
            a = Vector512.LoadUnsafe(ref x2, at);
            s20 = Vector512.FusedMultiplyAdd(a, b0, s20); s21 = Vector512.FusedMultiplyAdd(a, b1, s21);
            s22 = Vector512.FusedMultiplyAdd(a, b2, s22); s23 = Vector512.FusedMultiplyAdd(a, b3, s23);
            a = Vector512.LoadUnsafe(ref x3, at);
            s30 = Vector512.FusedMultiplyAdd(a, b0, s30); s31 = Vector512.FusedMultiplyAdd(a, b1, s31);
            s32 = Vector512.FusedMultiplyAdd(a, b2, s32); s33 = Vector512.FusedMultiplyAdd(a, b3, s33);
        }
        Store(output, 0, Vector512.Sum(s00), Vector512.Sum(s01), Vector512.Sum(s02), Vector512.Sum(s03));
        Store(output, n, Vector512.Sum(s10), Vector512.Sum(s11), Vector512.Sum(s12), Vector512.Sum(s13));
        Store(output, 2 * n, Vector512.Sum(s20), Vector512.Sum(s21), Vector512.Sum(s22), Vector512.Sum(s23));
        Store(output, 3 * n, Vector512.Sum(s30), Vector512.Sum(s31), Vector512.Sum(s32), Vector512.Sum(s33));
        for (; i < k; i++) // columns past the last whole 16
        {
            for (int t = 0; t < Block; t++)
            {
                float value = x[t * k + i];
                for (int r = 0; r < Block; r++)
                    output[t * n + r] += value * w[r * k + i];
            }
        }
    }

    private static void Store(Span<float> output, int start, float v0, float v1, float v2, float v3)
    {
        output[start] = v0;
        output[start + 1] = v1;
        output[start + 2] = v2;
        output[start + 3] = v3;
    }
}
