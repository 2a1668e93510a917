using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Formats;

/// <summary>
/// For every row format, the split read of <see cref="IRowFormat{TSelf}"/> (<c>LoadUnscaled4</c>, then
/// <c>DecodeUnscaled4</c>, then <c>RowScaled</c>) gives exactly <c>Elements4</c>'s values. The members are called on the
/// host, so only the CPU backends run it.
/// </summary>
public abstract class RowFormatSplitLoadTests(BackendFixture backend) : BackendTestBase(backend)
{
    private const int Rows = 130; // past one 128-row scale block
    private const int Cols = 264; // past two 128-column scale blocks, a multiple of 4

    [SkippableFact]
    public void F32_split_read_equals_Elements4()
    {
        RequireBackend();
        using var values = Upload(RandomTensors.Normal(NewRandom(21), (long)Rows * Cols));
        AssertSplitReadEqualsElements4(new F32Rows(values.View));
    }

    [SkippableFact]
    public void Bf16_split_read_equals_Elements4()
    {
        RequireBackend();
        using var bits = Upload(RandomTensors.Bf16(NewRandom(22), (long)Rows * Cols).Bits);
        AssertSplitReadEqualsElements4(new Bf16Rows(bits.View));
    }

    [SkippableFact]
    public void Fp8_block_scaled_split_read_equals_Elements4()
    {
        RequireBackend();
        var (codes, scaleInv, _) = RandomTensors.Fp8BlockScaled(NewRandom(23), Rows, Cols);
        using var c = Upload(codes);
        using var s = Upload(scaleInv);
        AssertSplitReadEqualsElements4(new Fp8BlockRows(c.View, s.View));
    }

    [SkippableFact]
    public void Fp8_row_scaled_split_read_equals_Elements4()
    {
        RequireBackend();
        var (codes, scales) = IndexKeyCacheReference.QuantizeFp8(RandomTensors.Normal(NewRandom(24), (long)Rows * Cols, 3f), Rows, Cols);
        using var c = Upload(codes);
        using var s = Upload(scales);
        AssertSplitReadEqualsElements4(new Fp8RowScaledRows(c.View, s.View));
    }

    [SkippableFact]
    public void Fp8_latent_cache_split_read_equals_Elements4()
    {
        RequireBackend();
        const int latentDim = Cols - 8; // two full scale blocks (the 264 columns are 256 e4m3 + 8 bf16 rope values)
        byte[] rows = KernelSharp.Kernels.Attention.StoreKvCacheFp8Reference.Quantize(RandomTensors.Normal(NewRandom(25), (long)Rows * Cols, 3f), Rows, latentDim, Cols - latentDim);
        using var bytes = Upload(rows);
        AssertSplitReadEqualsElements4(new Fp8LatentRows(bytes.View, latentDim));
    }

    private void AssertSplitReadEqualsElements4<TRows>(TRows format)
        where TRows : struct, IRowFormat<TRows>
    {
        Accelerator.Synchronize();
        for (int row = 0; row < Rows; row++)
        {
            for (int col = 0; col < Cols; col += 4)
            {
                Float4 expected = format.Elements4(row, Cols, col);
                Float4 decoded = format.DecodeUnscaled4(format.LoadUnscaled4(row, Cols, col));
                float[] split = [format.RowScaled(row, decoded.X), format.RowScaled(row, decoded.Y), format.RowScaled(row, decoded.Z), format.RowScaled(row, decoded.W)];
                Assert.True(split.SequenceEqual([expected.X, expected.Y, expected.Z, expected.W]),
                    $"{typeof(TRows).Name} row {row}, cols {col}..{col + 3}: split read [{string.Join(", ", split)}], Elements4 [{expected.X}, {expected.Y}, {expected.Z}, {expected.W}]");
            }
        }
    }
}

public sealed class RowFormatSplitLoadTests_FastCpu(FastCpuBackend b) : RowFormatSplitLoadTests(b), IClassFixture<FastCpuBackend>;
public sealed class RowFormatSplitLoadTests_IlgpuCpu(IlgpuCpuBackend b) : RowFormatSplitLoadTests(b), IClassFixture<IlgpuCpuBackend>;
