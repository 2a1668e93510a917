using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.Tensors;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Attention;

/// <summary>
/// The kernels around a prompt's per-head kv_b GEMMs against their references, bit for bit: the head-major bf16 copy of
/// q's nope parts and of o_lat (strides of both), the scatter back into token-major rows (elements it must not touch
/// keep a marker), kv_b split into W_UKᵀ and W_UV in bf16 from bf16, FP8 (block scales crossed) and fp32 weights, the
/// uniform tile table (tokens that fill tiles exactly and that leave a partial one) and the token of each (token, head) row.
/// </summary>
public abstract class HeadLayoutTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(5, 3, 8, 8 + 4, 3 * 12)] // q's nope parts: [T, H, nope + rope]
    [InlineData(70, 2, 24, 24, 48)]      // o_lat: [T, H, L]
    public void Heads_to_bf16_matches_reference(int tokens, int heads, int width, int headStride, int rowStride)
    {
        RequireBackend();
        float[] source = RandomTensors.Normal(NewRandom(tokens * 31 + width), (long)tokens * rowStride);
        ushort[] expected = MlaHeadLayoutsReference.HeadsToBf16(source, tokens, heads, width, rowStride, headStride);
        using var s = Upload(source);
        using var t = Upload(Enumerable.Repeat((ushort)0xFFFF, expected.Length).ToArray());
        Launch(typeof(MlaKernels).GetMethod(nameof(MlaKernels.HeadsToBf16))!, Config((int)((expected.Length + 255L) / 256), 1, 256),
            s.View, t.View, tokens, heads, width, rowStride, headStride);
        Assert.Equal(expected, Download(t));
    }

    [SkippableTheory]
    [InlineData(5, 3, 8, 8 + 4, 3 * 12)] // q_abs into the query rows [T, H, L + R]
    [InlineData(70, 2, 24, 24, 48)]      // value outputs into [T, H·v]
    public void Scatter_heads_matches_reference(int tokens, int heads, int width, int headStride, int rowStride)
    {
        RequireBackend();
        float[] source = RandomTensors.Normal(NewRandom(tokens * 37 + width), (long)heads * tokens * width);
        float[] destination = Enumerable.Repeat(-7f, tokens * rowStride).ToArray();
        float[] expected = MlaHeadLayoutsReference.ScatterHeads(source, destination, tokens, heads, width, rowStride, headStride);
        using var s = Upload(source);
        using var d = Upload(destination);
        Launch(typeof(MlaKernels).GetMethod(nameof(MlaKernels.ScatterHeads))!, Config((int)((source.Length + 255L) / 256), 1, 256),
            s.View, d.View, tokens, heads, width, rowStride, headStride);
        Assert.Equal(expected, Download(d));
    }

    [SkippableTheory]
    [InlineData("bf16", 3, 16, 8, 40)]
    [InlineData("fp8", 2, 100, 60, 200)] // rows and columns cross 128-wide scale blocks
    [InlineData("fp32", 1, 4, 4, 12)]
    public void Kvb_heads_to_bf16_matches_reference(string format, int heads, int nopeDim, int valueDim, int latentDim)
    {
        RequireBackend();
        var random = NewRandom(heads * 7 + nopeDim + latentDim);
        int rows = heads * (nopeDim + valueDim);
        var (expectedKeys, expectedValues) = (Array.Empty<ushort>(), Array.Empty<ushort>());
        using var keys = Upload(Enumerable.Repeat((ushort)0xFFFF, heads * latentDim * nopeDim).ToArray());
        using var values = Upload(Enumerable.Repeat((ushort)0xFFFF, heads * valueDim * latentDim).ToArray());
        var method = typeof(MlaKernels).GetMethod(nameof(MlaKernels.KvbHeadsToBf16))!;
        var config = Config((int)(((long)rows * latentDim + 255) / 256), 1, 256);
        switch (format)
        {
            case "bf16":
            {
                var (bits, w) = RandomTensors.Bf16(random, (long)rows * latentDim);
                (expectedKeys, expectedValues) = MlaHeadLayoutsReference.KvbHeadsToBf16(w, heads, nopeDim, valueDim, latentDim);
                using var b = Upload(bits);
                Launch(method, config, new Bf16Rows(b.View), keys.View, values.View, heads, nopeDim, valueDim, latentDim);
                break;
            }
            case "fp8":
            {
                var (codes, scaleInv, w) = RandomTensors.Fp8BlockScaled(random, rows, latentDim);
                (expectedKeys, expectedValues) = MlaHeadLayoutsReference.KvbHeadsToBf16(w, heads, nopeDim, valueDim, latentDim);
                using var c = Upload(codes);
                using var s = Upload(scaleInv);
                Launch(method, config, new Fp8BlockRows(c.View, s.View), keys.View, values.View, heads, nopeDim, valueDim, latentDim);
                break;
            }
            default:
            {
                float[] w = RandomTensors.Normal(random, (long)rows * latentDim);
                (expectedKeys, expectedValues) = MlaHeadLayoutsReference.KvbHeadsToBf16(w, heads, nopeDim, valueDim, latentDim);
                using var f = Upload(w);
                Launch(method, config, new F32Rows(f.View), keys.View, values.View, heads, nopeDim, valueDim, latentDim);
                break;
            }
        }
        Assert.Equal(expectedKeys, Download(keys));
        Assert.Equal(expectedValues, Download(values));
    }

    [SkippableTheory]
    [InlineData(3, 256, 128)] // whole tiles
    [InlineData(2, 70, 32)]   // a partial tile per head
    [InlineData(4, 1, 128)]   // one row per head
    public void Uniform_item_groups_match_reference(int experts, int itemsPerExpert, int itemsPerGroup)
    {
        RequireBackend();
        var (slotExperts, first, end) = UniformItemGroupsReference.Groups(experts, itemsPerExpert, itemsPerGroup);
        using var s = Upload(Enumerable.Repeat(-5, slotExperts.Length).ToArray());
        using var f = Upload(Enumerable.Repeat(-5, first.Length).ToArray());
        using var e = Upload(Enumerable.Repeat(-5, end.Length).ToArray());
        Launch(typeof(MoeKernels).GetMethod(nameof(MoeKernels.UniformItemGroups))!, Config((slotExperts.Length + 255) / 256, 1, 256),
            s.View, f.View, e.View, experts, itemsPerExpert, itemsPerGroup);
        Assert.Equal(slotExperts, Download(s));
        Assert.Equal(first, Download(f));
        Assert.Equal(end, Download(e));
    }

    [SkippableTheory]
    [InlineData(1, 1)]
    [InlineData(300, 16)]
    public void Fill_quotient_matches_reference(int count, int divisor)
    {
        RequireBackend();
        using var x = Upload(Enumerable.Repeat(-1, count).ToArray());
        Launch(typeof(TensorKernels).GetMethod(nameof(TensorKernels.FillQuotient))!, Config((count + 255) / 256, 1, 256), x.View, count, divisor);
        Assert.Equal(TensorElementwiseReference.FillQuotient(count, divisor), Download(x));
    }
}

public sealed class HeadLayoutTests_FastCpu(FastCpuBackend b) : HeadLayoutTests(b), IClassFixture<FastCpuBackend>;
public sealed class HeadLayoutTests_IlgpuCpu(IlgpuCpuBackend b) : HeadLayoutTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class HeadLayoutTests_Cuda(CudaBackend b) : HeadLayoutTests(b), IClassFixture<CudaBackend>;
public sealed class HeadLayoutTests_OpenCL(OpenCLBackend b) : HeadLayoutTests(b), IClassFixture<OpenCLBackend>;
