using Xunit;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Tests.Reference;

namespace KernelSharp.Runtime.Tests.Model;

/// <summary>
/// Absorbed sparse MLA and the indexer against the expanded textbook form (k_nope and v materialized per head from
/// the latent), in double precision, on fresh random inputs.
/// </summary>
public sealed class CpuBackendAttentionTests
{
    private static readonly MlaDimensions Dims = new(Heads: 3, NopeDim: 8, RopeDim: 4, ValueDim: 6, LatentDim: 10);
    private readonly IModelBackend backend = new CpuBackend();
    private readonly RandomData random = new();

    [Theory]
    [InlineData(0, 9, false)]  // prefill, dense causal
    [InlineData(0, 9, true)]   // prefill, sparse selection
    [InlineData(6, 3, true)]   // continuing a cache: rows start at position 6
    [InlineData(11, 1, true)]  // decode
    public void Absorbed_attention_equals_the_expanded_form(int startPosition, int rows, bool sparse)
    {
        var keys = startPosition + rows;
        var (segment, latent, ropeKeys) = Cache(startPosition, rows);
        var q = random.Floats(rows * Dims.Heads * Dims.QueryHeadDim);
        var kvB = random.Floats(Dims.Heads * (Dims.NopeDim + Dims.ValueDim) * Dims.LatentDim, 0.5f);
        const int k = 4;
        var selected = sparse ? RandomSelection(rows, startPosition, k) : null;
        const float scale = 0.3f;

        var actual = backend.Download(backend.MlaAttention(
            backend.Upload(q, rows, Dims.Heads * Dims.QueryHeadDim), backend.Upload(kvB, kvB.Length / Dims.LatentDim, Dims.LatentDim),
            Dims, scale, [segment], selected is null ? null : Selection(selected, rows, k)));

        var expected = ExpandedAttention(q, kvB, latent, ropeKeys, rows, startPosition, scale, t =>
            selected is null ? Enumerable.Range(0, startPosition + t + 1) : selected.Skip(t * k).Take(k).Where(j => j >= 0));
        Assertions.Close(expected, actual, 1e-5, $"MLA start {startPosition} rows {rows} keys {keys} sparse {sparse} {random}");
    }

    [Fact]
    public void Selecting_every_visible_key_is_dense_attention_and_unselected_keys_do_not_matter()
    {
        const int rows = 6;
        var (segment, latent, _) = Cache(0, rows);
        var q = backend.Upload(random.Floats(rows * Dims.Heads * Dims.QueryHeadDim), rows, Dims.Heads * Dims.QueryHeadDim);
        var kvB = backend.Upload(random.Floats(Dims.Heads * (Dims.NopeDim + Dims.ValueDim) * Dims.LatentDim), Dims.Heads * (Dims.NopeDim + Dims.ValueDim), Dims.LatentDim);
        var all = new int[rows * rows];
        for (var t = 0; t < rows; t++)
        {
            for (var j = 0; j < rows; j++)
            {
                all[t * rows + j] = j <= t ? j : -1;
            }
        }

        var dense = backend.Download(backend.MlaAttention(q, kvB, Dims, 0.2f, [segment], null));
        Assert.Equal(dense, backend.Download(backend.MlaAttention(q, kvB, Dims, 0.2f, [segment], Selection(all, rows, rows))));

        // The last row attends only to keys {0, 5}: changing key 3 must leave it unchanged, changing key 5 must not.
        var sparse = Selection([.. Enumerable.Repeat(-1, (rows - 1) * 2), 0, 5], rows, 2);
        var before = backend.Download(backend.MlaAttention(q, kvB, Dims, 0.2f, [segment], sparse)).AsSpan((rows - 1) * Dims.Heads * Dims.ValueDim).ToArray();
        latent[3 * Dims.LatentDim] += 10f;
        backend.WriteRows(segment.Latent, 0, backend.Upload(latent, rows, Dims.LatentDim), 0, rows, 0);
        var afterUnselected = backend.Download(backend.MlaAttention(q, kvB, Dims, 0.2f, [segment], sparse)).AsSpan((rows - 1) * Dims.Heads * Dims.ValueDim).ToArray();
        latent[5 * Dims.LatentDim] += 10f;
        backend.WriteRows(segment.Latent, 0, backend.Upload(latent, rows, Dims.LatentDim), 0, rows, 0);
        var afterSelected = backend.Download(backend.MlaAttention(q, kvB, Dims, 0.2f, [segment], sparse)).AsSpan((rows - 1) * Dims.Heads * Dims.ValueDim).ToArray();

        Assert.Equal(before, afterUnselected);
        Assert.NotEqual(before, afterSelected);
    }

    [Theory]
    [InlineData(4, 3)]   // continuing a cache
    [InlineData(5, 70)]  // several blocks of query rows
    public void Indexer_scores_are_weighted_relu_dots_over_visible_keys(int startPosition, int rows)
    {
        const int heads = 3, dim = 5;
        var indexKeys = random.Floats((startPosition + rows) * dim);
        var segment = new AttentionSegment(0, rows, startPosition, backend.Allocate(1, 1), backend.Allocate(1, 1), backend.Upload(indexKeys, startPosition + rows, dim));
        var q = random.Floats(rows * heads * dim);
        var w = random.Floats(rows * heads);

        var scores = backend.Download(backend.IndexerScores(backend.Upload(q, rows, heads * dim), backend.Upload(w, rows, heads), heads, [segment]));

        var columns = startPosition + rows;
        for (var t = 0; t < rows; t++)
        {
            for (var j = 0; j < columns; j++)
            {
                var actual = scores[t * columns + j];
                if (j > startPosition + t)
                {
                    Assert.Equal(float.NegativeInfinity, actual);
                    continue;
                }

                double expected = 0;
                for (var h = 0; h < heads; h++)
                {
                    var dot = Enumerable.Range(0, dim).Sum(d => (double)q[(t * heads + h) * dim + d] * indexKeys[j * dim + d]);
                    expected += w[t * heads + h] * Math.Max(0, dot);
                }

                Assert.True(Math.Abs(expected - actual) <= 1e-5 * Math.Max(1, Math.Abs(expected)), $"row {t} key {j}: {actual} vs {expected} ({random})");
            }
        }
    }

    [Fact]
    public void TopK_takes_the_best_visible_keys_breaks_ties_by_index_and_never_picks_masked_keys()
    {
        const int k = 3;
        float[] scores =
        [
            0.5f, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, // position 0: one key
            0f, 0f, 0f, 0f, float.NegativeInfinity,                                                               // position 3: ReLU ties
            0.1f, 0.9f, 0.9f, -0.2f, 0.4f,                                                                        // position 4
        ];
        var segments = new List<AttentionSegment>
        {
            new(0, 1, 0, backend.Allocate(1, 1), backend.Allocate(1, 1), backend.Allocate(1, 1)),
            new(1, 2, 3, backend.Allocate(1, 1), backend.Allocate(1, 1), backend.Allocate(1, 1)),
        };

        var selected = backend.Download(backend.TopK(backend.Upload(scores, 3, 5), k, segments));

        Assert.Equal([0, -1, -1, 0, 1, 2, 1, 2, 4], selected);
    }

    private (AttentionSegment Segment, float[] Latent, float[] RopeKeys) Cache(int startPosition, int rows)
    {
        var keys = startPosition + rows;
        var latent = random.Floats(keys * Dims.LatentDim);  // [keys, latent]
        var ropeKeys = random.Floats(keys * Dims.RopeDim);  // [keys, rope]
        var segment = new AttentionSegment(0, rows, startPosition,
            backend.Upload((float[])latent.Clone(), keys, Dims.LatentDim), backend.Upload((float[])ropeKeys.Clone(), keys, Dims.RopeDim), backend.Allocate(keys, 1));
        return (segment, latent, ropeKeys);
    }

    /// <summary>k distinct random visible keys per row, with −1 padding where fewer are visible.</summary>
    private int[] RandomSelection(int rows, int startPosition, int k)
    {
        var selected = new int[rows * k];
        for (var t = 0; t < rows; t++)
        {
            var visible = Enumerable.Range(0, startPosition + t + 1).OrderBy(_ => random.Next(1000)).Take(k).ToList();
            while (visible.Count < k)
            {
                visible.Add(-1);
            }

            visible.CopyTo(selected, t * k);
        }

        return selected;
    }

    private IndexTensor Selection(int[] values, int rows, int k) => backend.Upload(values, rows, k);

    /// <summary>Textbook MLA: k_nope = c W_kᵀ and v = c W_vᵀ per head, scores over the given keys, softmax, Σ p v.</summary>
    private static float[] ExpandedAttention(float[] q, float[] kvB, float[] latent, float[] ropeKeys, int rows, int startPosition, float scale, Func<int, IEnumerable<int>> keysOf)
    {
        var output = new float[rows * Dims.Heads * Dims.ValueDim];
        var headRows = Dims.NopeDim + Dims.ValueDim;
        for (var t = 0; t < rows; t++)
        {
            for (var h = 0; h < Dims.Heads; h++)
            {
                var query = (t * Dims.Heads + h) * Dims.QueryHeadDim;
                var keys = keysOf(t).ToList();
                var scores = keys.Select(j =>
                {
                    double score = 0;
                    for (var n = 0; n < Dims.NopeDim; n++)
                    {
                        var kNope = Enumerable.Range(0, Dims.LatentDim).Sum(l => (double)latent[j * Dims.LatentDim + l] * kvB[(h * headRows + n) * Dims.LatentDim + l]);
                        score += q[query + n] * kNope;
                    }

                    for (var r = 0; r < Dims.RopeDim; r++)
                    {
                        score += (double)q[query + Dims.NopeDim + r] * ropeKeys[j * Dims.RopeDim + r];
                    }

                    return score * scale;
                }).ToList();
                var max = scores.Max();
                var weights = scores.Select(s => Math.Exp(s - max)).ToList();
                var total = weights.Sum();
                for (var v = 0; v < Dims.ValueDim; v++)
                {
                    double sum = 0;
                    for (var i = 0; i < keys.Count; i++)
                    {
                        var value = Enumerable.Range(0, Dims.LatentDim).Sum(l => (double)latent[keys[i] * Dims.LatentDim + l] * kvB[(h * headRows + Dims.NopeDim + v) * Dims.LatentDim + l]);
                        sum += weights[i] / total * value;
                    }

                    output[(t * Dims.Heads + h) * Dims.ValueDim + v] = (float)sum;
                }
            }
        }

        return output;
    }
}
