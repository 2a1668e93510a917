using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Embedding;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Embedding;

/// <summary>Embedding gather from fp32 and bf16 tables (exact), repeated ids, and the NaN row for a bad id.</summary>
public abstract class EmbeddingTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(1, 1, 1)]
    [InlineData(50, 7, 20)]
    [InlineData(300, 257, 9)]
    public void F32_gathers_rows(int vocab, int hidden, int tokens)
    {
        RequireBackend();
        var random = NewRandom(vocab + hidden);
        float[] table = RandomTensors.Uniform(random, (long)vocab * hidden);
        int[] ids = RandomTensors.Indices(random, tokens, vocab);
        double[] expected = EmbeddingReference.Gather(LinearWeightsReference.Widen(table), hidden, ids);

        using var t = Upload(table);
        using var i = Upload(ids);
        using var y = Allocate<float>((long)tokens * hidden);
        Launch(typeof(EmbeddingKernels).GetMethod(nameof(EmbeddingKernels.Embedding))!, Config(tokens, 1, 256),
            new F32Rows(t.View), i.View, y.View, tokens, hidden, vocab);

        Tolerance.AssertClose(expected, Download(y), new Tolerance(0, 0), "embedding f32 rows");
    }

    [SkippableTheory]
    [InlineData(1, 1, 1)]
    [InlineData(300, 257, 9)]
    public void Bf16_gathers_and_widens_rows(int vocab, int hidden, int tokens)
    {
        RequireBackend();
        var random = NewRandom(vocab * 3 + hidden);
        var (bits, _) = RandomTensors.Bf16(random, (long)vocab * hidden);
        int[] ids = RandomTensors.Indices(random, tokens, vocab);
        double[] expected = EmbeddingReference.Gather(LinearWeightsReference.DecodeBf16(bits), hidden, ids);

        using var t = Upload(bits);
        using var i = Upload(ids);
        using var y = Allocate<float>((long)tokens * hidden);
        Launch(typeof(EmbeddingKernels).GetMethod(nameof(EmbeddingKernels.Embedding))!, Config(tokens, 1, 256),
            new Bf16Rows(t.View), i.View, y.View, tokens, hidden, vocab);

        Tolerance.AssertClose(expected, Download(y), new Tolerance(0, 0), "embedding bf16 rows");
    }

    [SkippableFact]
    public void Out_of_range_id_gives_a_nan_row()
    {
        RequireBackend();
        const int vocab = 10, hidden = 5;
        float[] table = RandomTensors.Uniform(NewRandom(1), vocab * hidden);
        int[] ids = [3, vocab, -1];

        using var t = Upload(table);
        using var i = Upload(ids);
        using var y = Allocate<float>(ids.Length * hidden);
        Launch(typeof(EmbeddingKernels).GetMethod(nameof(EmbeddingKernels.Embedding))!, Config(ids.Length, 1, 256),
            new F32Rows(t.View), i.View, y.View, ids.Length, hidden, vocab);

        float[] output = Download(y);
        Assert.Equal(table.AsSpan(3 * hidden, hidden).ToArray(), output.AsSpan(0, hidden).ToArray());
        Assert.All(output.AsSpan(hidden).ToArray(), v => Assert.True(float.IsNaN(v)));
    }
}

public sealed class EmbeddingTests_FastCpu(FastCpuBackend b) : EmbeddingTests(b), IClassFixture<FastCpuBackend>;
public sealed class EmbeddingTests_IlgpuCpu(IlgpuCpuBackend b) : EmbeddingTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class EmbeddingTests_Cuda(CudaBackend b) : EmbeddingTests(b), IClassFixture<CudaBackend>;
public sealed class EmbeddingTests_OpenCL(OpenCLBackend b) : EmbeddingTests(b), IClassFixture<OpenCLBackend>;
