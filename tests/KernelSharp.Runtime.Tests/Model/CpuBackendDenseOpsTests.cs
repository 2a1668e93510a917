using Xunit;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Tests.Reference;

namespace KernelSharp.Runtime.Tests.Model;

/// <summary>The fp32 reference backend's dense ops against plain double-precision loops on fresh random inputs.</summary>
public sealed class CpuBackendDenseOpsTests
{
    private readonly IModelBackend backend = new CpuBackend();
    private readonly RandomData random = new();

    [Theory]
    [InlineData(1, 7, 5)]      // decode-shaped, odd sizes
    [InlineData(33, 130, 67)]  // crosses SIMD widths and the parallel threshold
    [InlineData(8, 512, 300)]
    [InlineData(9, 40000, 10)] // wide input: weight tiles of 4 rows, the last one partial; 9 rows cross the row tile
    public void Linear_matches_a_double_loop(int rows, int inDim, int outDim)
    {
        var x = random.Floats(rows * inDim);
        var w = random.Floats(outDim * inDim);
        var expected = new double[rows * outDim];
        var magnitude = new double[rows * outDim]; // Σ|x·w|: fp32 rounding of a long sum scales with it, not with the result
        for (var t = 0; t < rows; t++)
        {
            for (var o = 0; o < outDim; o++)
            {
                for (var i = 0; i < inDim; i++)
                {
                    var product = (double)x[t * inDim + i] * w[o * inDim + i];
                    expected[t * outDim + o] += product;
                    magnitude[t * outDim + o] += Math.Abs(product);
                }
            }
        }

        var actual = backend.Download(backend.Linear(backend.Upload(x, rows, inDim), backend.Upload(w, outDim, inDim)));

        for (var i = 0; i < actual.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6 * magnitude[i], $"linear {random}: element {i} is {actual[i]}, expected {expected[i]}");
        }
    }

    [Fact]
    public void RmsNorm_and_LayerNorm_match_their_formulas()
    {
        const int rows = 5, dim = 37;
        const float eps = 1e-6f;
        var x = random.Floats(rows * dim, 3f);
        var w = random.Floats(dim);
        var b = random.Floats(dim);
        var expectedRms = new float[rows * dim];
        var expectedLayer = new float[rows * dim];
        for (var t = 0; t < rows; t++)
        {
            var row = x.AsSpan(t * dim, dim).ToArray().Select(v => (double)v).ToArray();
            var rms = Math.Sqrt(row.Select(v => v * v).Average() + eps);
            var mean = row.Average();
            var variance = row.Select(v => (v - mean) * (v - mean)).Average();
            for (var i = 0; i < dim; i++)
            {
                expectedRms[t * dim + i] = (float)(w[i] * row[i] / rms);
                expectedLayer[t * dim + i] = (float)(((row[i] - mean) / Math.Sqrt(variance + eps) * w[i]) + b[i]);
            }
        }

        var input = backend.Upload(x, rows, dim);
        Assertions.Close(expectedRms, backend.Download(backend.RmsNorm(input, backend.Upload(w, 1, dim), eps)), 1e-5, $"rmsnorm {random}");
        Assertions.Close(expectedLayer, backend.Download(backend.LayerNorm(input, backend.Upload(w, 1, dim), backend.Upload(b, 1, dim), eps)), 1e-5, $"layernorm {random}");
    }

    [Theory]
    [InlineData(RopeLayout.Interleaved)]
    [InlineData(RopeLayout.HalfSplit)]
    public void Rope_rotates_the_right_pairs_of_the_rope_slice_only(RopeLayout layout)
    {
        const int rows = 3, heads = 2, headDim = 10, ropeOffset = 4, pairs = 3; // head = [4 untouched ‖ 6 rotated]
        var x = random.Floats(rows * heads * headDim);
        var angles = random.Floats(rows * pairs, 3f);
        var cos = angles.Select(MathF.Cos).ToArray();
        var sin = angles.Select(MathF.Sin).ToArray();
        var expected = (float[])x.Clone();
        for (var t = 0; t < rows; t++)
        {
            for (var h = 0; h < heads; h++)
            {
                var start = (t * heads + h) * headDim + ropeOffset;
                for (var i = 0; i < pairs; i++)
                {
                    // rotation of the complex number (first + i·second) by the angle
                    var first = start + (layout == RopeLayout.Interleaved ? 2 * i : i);
                    var second = start + (layout == RopeLayout.Interleaved ? 2 * i + 1 : i + pairs);
                    var angle = angles[t * pairs + i];
                    expected[first] = (float)((x[first] * Math.Cos(angle)) - (x[second] * Math.Sin(angle)));
                    expected[second] = (float)((x[first] * Math.Sin(angle)) + (x[second] * Math.Cos(angle)));
                }
            }
        }

        var tensor = backend.Upload((float[])x.Clone(), rows, heads * headDim);
        backend.ApplyRope(tensor, heads, headDim, ropeOffset, backend.Upload(cos, rows, pairs), backend.Upload(sin, rows, pairs), layout);

        Assertions.Close(expected, backend.Download(tensor), 1e-6, $"rope {layout} {random}");
    }

    [Fact]
    public void FeedForward_is_down_of_silu_gate_times_up()
    {
        const int rows = 4, hidden = 12, inner = 20;
        var x = random.Floats(rows * hidden);
        var gate = random.Floats(inner * hidden);
        var up = random.Floats(inner * hidden);
        var down = random.Floats(hidden * inner);
        var expected = new float[rows * hidden];
        for (var t = 0; t < rows; t++)
        {
            var activation = new double[inner];
            for (var j = 0; j < inner; j++)
            {
                double g = 0, u = 0;
                for (var i = 0; i < hidden; i++)
                {
                    g += (double)x[t * hidden + i] * gate[j * hidden + i];
                    u += (double)x[t * hidden + i] * up[j * hidden + i];
                }

                activation[j] = g / (1 + Math.Exp(-g)) * u;
            }

            for (var o = 0; o < hidden; o++)
            {
                expected[t * hidden + o] = (float)Enumerable.Range(0, inner).Sum(j => activation[j] * down[o * inner + j]);
            }
        }

        var weights = new FeedForwardWeights(backend.Upload(gate, inner, hidden), backend.Upload(up, inner, hidden), backend.Upload(down, hidden, inner));
        var actual = backend.Download(backend.FeedForward(backend.Upload(x, rows, hidden), weights));

        Assertions.Close(expected, actual, 1e-5, $"swiglu {random}");
    }

    [Fact]
    public void WriteRows_copies_a_column_window_into_cache_rows()
    {
        var source = backend.Upload([1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f], 3, 3);
        var cache = backend.Allocate(5, 2);

        backend.WriteRows(cache, 2, source, 1, 2, 1);

        Assert.Equal([0f, 0f, 0f, 0f, 5f, 6f, 8f, 9f, 0f, 0f], backend.Download(cache));
        Assert.Throws<ArgumentOutOfRangeException>(() => backend.WriteRows(cache, 4, source, 0, 2, 0));
    }
}
