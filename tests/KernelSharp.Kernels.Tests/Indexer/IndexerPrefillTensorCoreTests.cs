using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Paging;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Indexer;

/// <summary>
/// The prompt's indexer scores on tensor cores (<see cref="IndexerKernels.IndexerPrefillTensorCore"/>) against the
/// float64 reference on the same bf16-rounded queries and keys: a chunk starting after cached keys (each row sees up to
/// its own position, −∞ after), a row length past the last key (−∞ too), 64 heads and a count not a multiple of 8, and
/// key groups past the last key. Output starts as NaN, so an element the kernel forgets fails.
/// </summary>
public abstract class IndexerPrefillTensorCoreTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(5, 600, 64, 3, 0)]   // two groups of 512 keys (the second partial), 3 columns past the last key
    [InlineData(3, 17, 5, 0, 0)]     // one tile and a bit, heads not a multiple of 8
    [InlineData(3, 0, 16, 1100, 0)]  // a prompt's first rows: the second and third groups hold only future keys (−∞, no mma)
    [InlineData(4, 40, 8, 0, 2)]     // keys 4 bytes off a 16-byte boundary: the word-by-word loads
    public void Scores_match_reference_on_bf16_queries_and_keys(int queryCount, int start, int heads, int extraColumns, int keyOffset)
    {
        RequireBackend();
        const int dim = IndexerKernels.DecodeTcDim;
        IndexerShapes.ValidateDecodeFp8TensorCore(heads, dim);
        int keyCount = start + queryCount;
        int keyColumns = keyCount + extraColumns;
        var random = NewRandom(queryCount * 131 + start + heads);
        float[] queries = Rounded(RandomTensors.Normal(random, (long)queryCount * heads * dim));          // [Q, H, D]
        float[] weights = RandomTensors.Uniform(random, (long)queryCount * heads, 1f / MathF.Sqrt(heads)); // [Q, H], both signs
        float[] keys = Rounded(RandomTensors.Normal(random, (long)keyCount * dim, 2f));                   // [keys, D]
        int[] positions = Enumerable.Range(start, queryCount).ToArray();
        float scale = 1f / MathF.Sqrt(dim);

        using var q = Upload(queries);
        using var w = Upload(weights);
        using var k = Upload(new ushort[keyOffset].Concat(keys.Select(Dsl.Bf16.FromFloat)).ToArray());
        using var p = Upload(positions);
        using var scores = Upload(Enumerable.Repeat(float.NaN, queryCount * keyColumns).ToArray());
        Launch(typeof(IndexerKernels).GetMethod(nameof(IndexerKernels.IndexerPrefillTensorCore))!,
            Config((keyColumns + IndexerKernels.PrefillTcGroupKeys - 1) / IndexerKernels.PrefillTcGroupKeys, queryCount, IndexerKernels.DecodeTcWarps * 32),
            q.View, w.View, k.View.SubView(keyOffset, (long)keyCount * dim), p.View, scores.View, queryCount, keyColumns, heads, scale);

        double[] reference = IndexerScoresReference.Scores(queries, weights, keys, queryCount, keyCount, heads, dim, scale, KeyPagesReference.Contiguous(positions));
        var expected = new double[queryCount * keyColumns];
        for (int s = 0; s < queryCount; s++)
        {
            for (int j = 0; j < keyColumns; j++)
                expected[s * keyColumns + j] = j < keyCount ? reference[s * keyCount + j] : double.NegativeInfinity;
        }

        // bf16 products are exact in fp32: only the summation order separates the kernel from the reference.
        Tolerance.AssertClose(expected, Download(scores), Tolerance.Fp32, "indexer prefill scores (bf16, tensor cores)");
    }

    private static float[] Rounded(float[] values) => values.Select(v => Dsl.Bf16.ToFloat(Dsl.Bf16.FromFloat(v))).ToArray();
}

public sealed class IndexerPrefillTensorCoreTests_FastCpu(FastCpuBackend b) : IndexerPrefillTensorCoreTests(b), IClassFixture<FastCpuBackend>;
public sealed class IndexerPrefillTensorCoreTests_Cuda(CudaBackend b) : IndexerPrefillTensorCoreTests(b), IClassFixture<CudaBackend>;
