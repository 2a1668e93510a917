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
    /// The FP8 decode dot (rows in pairs, values decoded in registers) gives, for every row, the bits of its stated order:
    /// the unscaled values against the activations times their block's scale, per 32 values the low and the high 16 into
    /// two sums, then reduced; paired rows and a row alone agree. Random finite codes and a NaN in one row (it stays NaN), three scale
    /// blocks, and the sums stay within rounding of a double-precision dot of the scaled values.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void E4M3_row_dots_take_the_stated_order_paired_or_alone(int rows)
    {
        const int cols = 384, block = 128;
        var random = new Random(rows);
        byte[] codes = RandomCodes(random, rows * cols);
        codes[0] = 0x7F; // a NaN in row 0 only
        float[] scales = [0.75f, -1.5e-3f, 3.25f];
        float[] x = RandomValues(random, cols);
        var sums = new float[rows];
        if (!HostWiden.TryE4M3DotRows(codes, cols, rows, scales, block, x, sums))
        {
            Assert.False(RegisterFormExpected, "the register form applies wherever the machine has VBMI and 512-bit vectors");
            return;
        }
        float[] scaledX = x.Select((value, c) => value * scales[c / block]).ToArray();
        var alone = new float[1];
        for (int r = 0; r < rows; r++)
        {
            var unscaled = new float[cols];
            HostWiden.E4M3(codes.AsSpan(r * cols, cols), 1f, unscaled);
            AssertSameFloat(StatedOrderDot(unscaled, scaledX), sums[r], $"row {r} of {rows}");
            Assert.True(HostWiden.TryE4M3DotRows(codes.AsSpan(r * cols, cols), cols, 1, scales, block, x, alone));
            AssertSameFloat(sums[r], alone[0], $"row {r} alone");
            if (r > 0)
            {
                double exact = 0, magnitude = 0;
                for (int c = 0; c < cols; c++)
                {
                    double term = (double)Fp8E4M3.ToFloat(codes[r * cols + c]) * scales[c / block] * x[c];
                    exact += term;
                    magnitude += Math.Abs(term);
                }
                Assert.True(Math.Abs(sums[r] - exact) <= 1e-5 * magnitude, $"row {r}: {sums[r]} against {exact} (Σ|term| {magnitude})");
            }
        }
        Assert.True(float.IsNaN(sums[0]), "the NaN code makes row 0 NaN");
    }

    /// <summary>
    /// Batch invariance of the FP8 register form: one row against 1 to 4 activation vectors at a stride gives each vector
    /// the bits that vector gets alone, whatever the others hold (a NaN or an infinity in another vector included).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void E4M3_item_dots_give_each_vector_its_bits_alone(int items)
    {
        const int cols = 256, block = 128, stride = 320;
        var random = new Random(10 + items);
        byte[] row = RandomCodes(random, cols);
        float[] scales = [-0.0625f, 17.5f];
        float[] x = RandomValues(random, (items - 1) * stride + cols);
        if (items > 1)
            x[stride + 5] = float.NaN; // item 1 only
        if (items > 2)
            x[2 * stride + 200] = float.PositiveInfinity; // item 2 only
        var sums = new float[items];
        if (!HostWiden.TryE4M3DotItems(row, cols, scales, block, x, stride, items, sums))
        {
            Assert.False(RegisterFormExpected, "the register form applies wherever the machine has VBMI and 512-bit vectors");
            return;
        }
        var alone = new float[1];
        for (int i = 0; i < items; i++)
        {
            Assert.True(HostWiden.TryE4M3DotRows(row, cols, 1, scales, block, x.AsSpan(i * stride, cols), alone));
            AssertSameFloat(alone[0], sums[i], $"item {i} of {items}");
        }
        if (items > 1)
            Assert.True(float.IsNaN(sums[1]), "the NaN activation makes item 1 NaN");
        Assert.False(float.IsNaN(sums[0]), "item 0 is untouched by the others' NaN");
    }

    [Fact]
    public void The_register_form_declines_shapes_it_does_not_cover()
    {
        var sums = new float[2];
        Assert.False(HostWiden.TryE4M3DotRows(new byte[2 * 96], 96, 2, [1f], 128, new float[96], sums), "rows of 96 codes");
        Assert.False(HostWiden.TryE4M3DotItems(new byte[128], 128, [1f, 1f], 96, new float[128], 128, 1, sums), "blocks of 96");
        Assert.False(HostWiden.DotsE4M3InRegisters(0, 128));
    }

    private static bool RegisterFormExpected =>
        System.Runtime.Intrinsics.X86.Avx512Vbmi.IsSupported && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;

    /// <summary>Random codes, every finite one possible (zeros and subnormals included); the NaN codes 0x7F and 0xFF
    /// only where a test places them.</summary>
    private static byte[] RandomCodes(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => (byte)random.Next(256)).Select(code => (code & 0x7F) == 0x7F ? (byte)(code ^ 1) : code).ToArray();

    private static float[] RandomValues(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

    /// <summary>The register form's order: per 32 values the low and the high 16 into two sums, then reduced.</summary>
    private static float StatedOrderDot(float[] w, float[] x)
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
