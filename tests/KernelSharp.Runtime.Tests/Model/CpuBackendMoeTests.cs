using Xunit;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Tests.Reference;

namespace KernelSharp.Runtime.Tests.Model;

/// <summary>noaux_tc expert routing and the expert mix against straightforward references.</summary>
public sealed class CpuBackendMoeTests
{
    private readonly IModelBackend backend = new CpuBackend();
    private readonly RandomData random = new();

    [Fact]
    public void Routing_matches_the_reference_algorithm_on_random_scores()
    {
        const int rows = 50, experts = 16;
        var settings = new RouterSettings(Groups: 4, KeptGroups: 2, ExpertsPerToken: 4, NormalizeWeights: true, ScalingFactor: 2.5f);
        var logits = random.Floats(rows * experts, 3f);
        var bias = random.Floats(experts, 0.5f);

        using var routing = backend.RouteExperts(backend.Upload(logits, rows, experts), backend.Upload(bias, 1, experts), settings);
        var chosen = backend.Download(routing.Experts);
        var weights = backend.Download(routing.Weights);

        for (var t = 0; t < rows; t++)
        {
            var (expectedExperts, expectedWeights) = ReferenceRoute(logits.AsSpan(t * experts, experts).ToArray(), bias, settings);
            var actual = chosen.AsSpan(t * 4, 4).ToArray();
            Assert.Equal(expectedExperts.Order(), actual.Order());
            for (var i = 0; i < 4; i++)
            {
                var expectedWeight = expectedWeights[Array.IndexOf(expectedExperts, actual[i])];
                Assert.True(Math.Abs(expectedWeight - weights[t * 4 + i]) <= 1e-6, $"row {t} expert {actual[i]}: {weights[t * 4 + i]} vs {expectedWeight} ({random})");
            }
        }
    }

    /// <summary>
    /// The reference zeroes (not −∞) the biased scores of dropped groups, so when the kept group's biased scores are
    /// negative, experts of a dropped group win. Hugging Face is the numerical reference, so this is reproduced.
    /// </summary>
    [Fact]
    public void Experts_of_dropped_groups_compete_with_a_zero_score_as_in_the_reference()
    {
        var settings = new RouterSettings(Groups: 2, KeptGroups: 1, ExpertsPerToken: 2, NormalizeWeights: true, ScalingFactor: 1f);
        // s = 0.5 everywhere; b = [-1.5, -1.5, -2.5, -2.5]: group 0 is kept, yet its b < 0 = the masked scores of group 1.
        using var routing = backend.RouteExperts(backend.Upload(new float[4], 1, 4), backend.Upload([-2f, -2f, -3f, -3f], 1, 4), settings);

        Assert.Equal([2, 3], backend.Download(routing.Experts).Order());
        Assert.Equal([0.5f, 0.5f], backend.Download(routing.Weights));
    }

    [Fact]
    public void MixExperts_sums_weighted_expert_outputs()
    {
        const int rows = 3, hidden = 8, inner = 5, expertCount = 4;
        var x = random.Floats(rows * hidden);
        var experts = Enumerable.Range(0, expertCount).Select(_ => new FeedForwardWeights(
            backend.Upload(random.Floats(inner * hidden), inner, hidden),
            backend.Upload(random.Floats(inner * hidden), inner, hidden),
            backend.Upload(random.Floats(hidden * inner), hidden, inner))).ToArray();
        int[] chosen = [0, 3, 3, 1, 2, 0];
        float[] weights = [0.25f, 0.75f, 1.5f, -0.5f, 1f, 2f];
        var input = backend.Upload(x, rows, hidden);

        using var routing = new ExpertRouting(backend.Upload(chosen, rows, 2), backend.Upload(weights, rows, 2));
        var actual = backend.Download(backend.MixExperts(input, routing, experts));

        var expected = new float[rows * hidden];
        for (var t = 0; t < rows; t++)
        {
            var row = backend.Upload(x.AsSpan(t * hidden, hidden).ToArray(), 1, hidden);
            for (var i = 0; i < 2; i++)
            {
                var y = backend.Download(backend.FeedForward(row, experts[chosen[t * 2 + i]]));
                for (var o = 0; o < hidden; o++)
                {
                    expected[t * hidden + o] += weights[t * 2 + i] * y[o];
                }
            }
        }

        Assertions.Close(expected, actual, 1e-5, $"mix {random}");
    }

    /// <summary>The routing written the long way, in double precision.</summary>
    private static (int[] Experts, double[] Weights) ReferenceRoute(float[] logits, float[] bias, RouterSettings settings)
    {
        var experts = logits.Length;
        var perGroup = experts / settings.Groups;
        var s = logits.Select(l => 1 / (1 + Math.Exp(-l))).ToArray();
        var b = s.Select((v, e) => v + bias[e]).ToArray();
        var keptGroups = Enumerable.Range(0, settings.Groups)
            .OrderByDescending(g => b.Skip(g * perGroup).Take(perGroup).OrderDescending().Take(2).Sum())
            .Take(settings.KeptGroups).ToHashSet();
        var candidates = b.Select((v, e) => keptGroups.Contains(e / perGroup) ? v : 0.0).ToArray();
        var picked = Enumerable.Range(0, experts).OrderByDescending(e => candidates[e]).Take(settings.ExpertsPerToken).ToArray();
        var sum = picked.Sum(e => s[e]) + 1e-20;
        return (picked, picked.Select(e => s[e] / sum * settings.ScalingFactor).ToArray());
    }
}
