namespace KernelSharp.Dsl.Tests;

/// <summary>
/// The host widening of stored weights gives exactly the scalar decoders' values (the host GEMV's sums depend on it), on
/// every code path the machine takes: the 64-code table path, the 16- or 8-code arithmetic path and the scalar tail.
/// </summary>
public class HostWidenTests
{
    public static TheoryData<int> Lengths => new() { 0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 127, 128, 129, 256 + 48 + 9, 1024 };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void E4M3_gives_the_scalar_decode_times_the_scale_for_every_code(int length)
    {
        // Every code appears at every position class: the codes rotate through all 256 values with an odd stride.
        foreach (int offset in new[] { 0, 1, 131 })
        {
            byte[] codes = Enumerable.Range(0, length).Select(i => (byte)(offset + 37 * i)).ToArray();
            foreach (float scale in new[] { 1f, 0.3713f, -2.5f, 1.5e-5f })
            {
                var widened = new float[length];
                HostWiden.E4M3(codes, scale, widened);
                for (int i = 0; i < length; i++)
                    AssertSameFloat(Fp8E4M3.ToFloat(codes[i]) * scale, widened[i], $"code 0x{codes[i]:X2} at {i} of {length}, scale {scale}");
            }
        }
    }

    [Fact]
    public void E4M3_decodes_all_256_codes_including_subnormals_zeros_and_NaN()
    {
        byte[] codes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var widened = new float[256];
        HostWiden.E4M3(codes, 1f, widened);
        Assert.Equal(0f, widened[0x00]);
        Assert.True(float.IsNegative(widened[0x80]) && widened[0x80] == 0f, "0x80 is -0");
        Assert.Equal(MathF.Pow(2, -9), widened[0x01]);      // smallest subnormal
        Assert.Equal(-7 * MathF.Pow(2, -9), widened[0x87]); // largest negative subnormal
        Assert.Equal(448f, widened[0x7E]);
        Assert.True(float.IsNaN(widened[0x7F]) && float.IsNaN(widened[0xFF]), "0x7F and 0xFF are NaN");
        for (int code = 0; code < 256; code++)
            AssertSameFloat(Fp8E4M3.ToFloat((byte)code), widened[code], $"code 0x{code:X2}");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Bf16_gives_the_scalar_widening(int length)
    {
        var random = new Random(length);
        ushort[] bits = Enumerable.Range(0, length).Select(_ => (ushort)random.Next(65536)).ToArray();
        var widened = new float[length];
        HostWiden.Bf16(bits, widened);
        for (int i = 0; i < length; i++)
            Assert.Equal(BitConverter.SingleToUInt32Bits(Bf16.ToFloat(bits[i])), BitConverter.SingleToUInt32Bits(widened[i]));
    }

    /// <summary>
    /// The FP8 decode dot (rows in pairs, values decoded in registers) gives, for every row, the bits of the host GEMV's
    /// order over <see cref="HostWiden.E4M3"/>'s widened row, whether the row is alone or paired: all 256 codes appear
    /// (NaN rows stay NaN), with three scale blocks.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void E4M3_row_dots_equal_the_widened_rows_dots_in_the_GEMV_order(int rows)
    {
        const int cols = 384, block = 128;
        var random = new Random(rows);
        byte[] codes = Enumerable.Range(0, rows * cols).Select(_ => (byte)random.Next(256)).ToArray();
        codes[0] = 0x7F; // a NaN in row 0 only
        float[] scales = [0.75f, -1.5e-3f, 3.25f];
        float[] x = Enumerable.Range(0, cols).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var sums = new float[rows];
        if (!HostWiden.TryE4M3DotRows(codes, cols, rows, scales, block, x, sums))
        {
            Assert.False(System.Runtime.Intrinsics.X86.Avx512Vbmi.IsSupported && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated,
                "the register form applies wherever the machine has VBMI and 512-bit vectors");
            return;
        }
        var alone = new float[1];
        for (int r = 0; r < rows; r++)
        {
            var widened = new float[cols];
            for (int b = 0; b < cols / block; b++)
                HostWiden.E4M3(codes.AsSpan(r * cols + b * block, block), scales[b], widened.AsSpan(b * block, block));
            AssertSameFloat(GemvOrderDot(widened, x), sums[r], $"row {r} of {rows}");
            Assert.True(HostWiden.TryE4M3DotRows(codes.AsSpan(r * cols, cols), cols, 1, scales, block, x, alone));
            AssertSameFloat(sums[r], alone[0], $"row {r} alone");
        }
        Assert.True(float.IsNaN(sums[0]), "the NaN code makes row 0 NaN");
    }

    /// <summary>The host GEMV's order over a widened row: per 32 values the low and the high 16 into two sums, then reduced.</summary>
    private static float GemvOrderDot(float[] w, float[] x)
    {
        System.Runtime.Intrinsics.Vector512<float> low = default, high = default;
        for (int c = 0; c < w.Length; c += 32)
        {
            low = System.Runtime.Intrinsics.Vector512.MultiplyAddEstimate(
                System.Runtime.Intrinsics.Vector512.Create(w.AsSpan(c, 16)), System.Runtime.Intrinsics.Vector512.Create(x.AsSpan(c, 16)), low);
            high = System.Runtime.Intrinsics.Vector512.MultiplyAddEstimate(
                System.Runtime.Intrinsics.Vector512.Create(w.AsSpan(c + 16, 16)), System.Runtime.Intrinsics.Vector512.Create(x.AsSpan(c + 16, 16)), high);
        }
        return System.Runtime.Intrinsics.Vector512.Sum(low + high);
    }

    [Fact]
    public void A_destination_shorter_than_the_source_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => HostWiden.E4M3(new byte[20], 1f, new float[19]));
        Assert.Contains("19 floats cannot hold 20 e4m3 values", error.Message);
        Assert.Throws<ArgumentException>(() => HostWiden.Bf16(new ushort[20], new float[19]));
    }

    private static void AssertSameFloat(float expected, float actual, string what)
    {
        if (float.IsNaN(expected))
            Assert.True(float.IsNaN(actual), $"{what}: expected NaN, got {actual}");
        else
            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual),
                $"{what}: expected {expected} (0x{BitConverter.SingleToUInt32Bits(expected):X8}), got {actual} (0x{BitConverter.SingleToUInt32Bits(actual):X8})");
    }
}
