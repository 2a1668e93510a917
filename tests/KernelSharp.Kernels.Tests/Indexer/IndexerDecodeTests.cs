using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Paging;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Indexer;

/// <summary>
/// The FP8-cache tensor-core decode kernel (one query against the key cache) against the float64 reference on a
/// bf16-rounded query and fresh random inputs. (The model's fp32 decode kernel, IndexerScoresWarpKeys, is tested with
/// the scores kernels.)
/// </summary>
public abstract class IndexerDecodeTests(BackendFixture backend) : BackendTestBase(backend)
{
    /// <summary>False where the portable mma path (warp shuffles per lane) is too slow for a test.</summary>
    protected virtual bool RunsTensorCoreDecode => true;

    [SkippableTheory]
    [InlineData(300, 64)]   // DeepSeek-V3.2's 64 heads; two groups, the second partial (tiles past the last key)
    [InlineData(17, 5)]     // one tile and one key of the next, heads not a multiple of 8
    [InlineData(256, 64)]   // exactly one group
    public void Fp8_tensor_core_decode_matches_reference_on_bf16_query(int keyCount, int heads)
    {
        RequireBackend();
        Skip.IfNot(RunsTensorCoreDecode, $"one group of the tensor-core decode takes ~40 s on {Backend}; FastCpu and CUDA cover it");
        const int dim = IndexerKernels.DecodeTcDim;
        IndexerShapes.ValidateDecodeFp8TensorCore(heads, dim);
        var random = NewRandom(keyCount * 37 + heads);
        float[] query = RandomTensors.Normal(random, (long)heads * dim);                    // [H, D]
        float[] weights = RandomTensors.Uniform(random, heads, 1f / MathF.Sqrt(heads));     // [H], both signs
        float[] keys = RandomTensors.Normal(random, (long)keyCount * dim, 2f);              // [T, D]
        var (values, keyScales) = IndexKeyCacheReference.QuantizeFp8(keys, keyCount, dim);
        float scale = 1f / MathF.Sqrt(dim);
        using var q = Upload(query);
        using var w = Upload(weights);
        using var v = Upload(values);
        using var s = Upload(keyScales);
        using var scores = Allocate<float>(keyCount + 1); // one spare entry that must stay untouched
        scores.View.CopyFromCPU(Enumerable.Repeat(float.NaN, keyCount + 1).ToArray());

        Launch(typeof(IndexerKernels).GetMethod(nameof(IndexerKernels.IndexerDecodeFp8TensorCore))!,
            Config((keyCount + IndexerKernels.DecodeTcGroupKeys - 1) / IndexerKernels.DecodeTcGroupKeys, 1, IndexerKernels.DecodeTcWarps * 32),
            q.View, w.View, v.View, s.View, scores.View, keyCount, heads, scale);

        // The kernel rounds the query to bf16 (the e4m3 keys are exact in bf16); the rest is fp32 accumulation.
        float[] roundedQuery = query.Select(x => Dsl.Bf16.ToFloat(Dsl.Bf16.FromFloat(x))).ToArray();
        float[] dequantized = IndexKeyCacheReference.DequantizeFp8(values, keyScales, keyCount, dim);
        double[] expected = IndexerScoresReference.Scores(roundedQuery, weights, dequantized, 1, keyCount, heads, dim, scale, KeyPagesReference.Causal(1, keyCount - 1));
        float[] actual = Download(scores);
        Tolerance.AssertClose(expected, actual.Take(keyCount).ToArray(), Tolerance.Fp32, "indexer decode scores (fp8 keys, tensor cores)");
        Assert.True(float.IsNaN(actual[keyCount]), "the decode kernel wrote past the last key");
    }
}

public sealed class IndexerDecodeTests_FastCpu(FastCpuBackend b) : IndexerDecodeTests(b), IClassFixture<FastCpuBackend>;
public sealed class IndexerDecodeTests_IlgpuCpu(IlgpuCpuBackend b) : IndexerDecodeTests(b), IClassFixture<IlgpuCpuBackend>
{
    protected override bool RunsTensorCoreDecode => false;
}
public sealed class IndexerDecodeTests_Cuda(CudaBackend b) : IndexerDecodeTests(b), IClassFixture<CudaBackend>;
public sealed class IndexerDecodeTests_OpenCL(OpenCLBackend b) : IndexerDecodeTests(b), IClassFixture<OpenCLBackend>;
