using Xunit;
using KernelSharp.Runtime.Model;
using Xunit.Abstractions;

namespace KernelSharp.Runtime.Tests.Golden;

/// <summary>Prefill against the Hugging Face reference outputs in each fixture's golden.safetensors.</summary>
public sealed class GoldenPrefillTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Prefill_logits_meet_the_contract(string fixture)
    {
        using var golden = Fixtures.Golden(fixture);
        var model = Fixtures.Model(fixture);
        var tokens = golden.Ints("prefill.input_ids");
        using var session = model.CreateSession(tokens.Length);

        var logits = session.Prefill(tokens);

        var errors = RowErrors.Compare(logits, golden.Floats("prefill.logits"), model.Config.VocabSize);
        output.WriteLine($"{fixture} prefill logits: {errors}");
        Assert.True(errors.Median <= 1e-4, $"median {errors}");
        Assert.True(errors.P99 <= 1e-3, $"p99 {errors}");
        Assert.True(errors.ArgmaxAgreement >= 0.98, $"argmax {errors}");
    }

    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Every_layer_hidden_state_matches(string fixture)
    {
        using var golden = Fixtures.Golden(fixture);
        var model = Fixtures.Model(fixture);
        var tokens = golden.Ints("prefill.input_ids");
        using var session = model.CreateSession(tokens.Length);
        var trace = new ForwardTrace();

        session.Prefill(tokens, trace);

        var layers = model.Config.NumHiddenLayers;
        Assert.Equal(layers + 1, trace.LayerOutputs.Count);
        for (var i = 0; i <= layers; i++)
        {
            // Hugging Face's last hidden state is taken after the final norm.
            var ours = i < layers ? trace.LayerOutputs[i] : trace.FinalNormed!;
            var errors = RowErrors.Compare(ours, golden.Floats($"prefill.hidden_states.{i}"), model.Config.HiddenSize);
            output.WriteLine($"{fixture} hidden_states.{i}: {errors}");
            Assert.True(errors.Median <= 1e-4 && errors.P99 <= 1e-3, $"hidden_states.{i}: {errors}");
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Indexer_scores_match_and_topk_sets_differ_only_on_ties(string fixture)
    {
        using var golden = Fixtures.Golden(fixture);
        var model = Fixtures.Model(fixture);
        var tokens = golden.Ints("prefill.input_ids");
        using var session = model.CreateSession(tokens.Length);
        var trace = new ForwardTrace();

        session.Prefill(tokens, trace);

        var rows = tokens.Length;
        var k = model.Config.IndexTopk;
        for (var layer = 0; layer < model.Config.NumHiddenLayers; layer++)
        {
            var referenceScores = golden.Floats($"prefill.indexer_scores.layer{layer}"); // [S, S], −1e30 masked
            var scoreErrors = CausalScoreErrors(trace.IndexerScores[layer], referenceScores, rows);
            var comparison = TopKComparison.Compare(trace.IndexerTopK[layer], golden.Ints($"prefill.indexer_topk.layer{layer}"), referenceScores, rows, k);
            output.WriteLine($"{fixture} layer {layer}: indexer scores {scoreErrors}; top-k {comparison}");
            Assert.True(scoreErrors.Median <= 1e-4 && scoreErrors.P99 <= 1e-3, $"layer {layer} scores: {scoreErrors}");
            Assert.True(comparison.UnexplainedRows.Count == 0, $"layer {layer}: {comparison}");
        }
    }

    /// <summary>Row errors over the visible (causal) keys only; masked entries are −∞ here and −1e30 in the reference.</summary>
    private static RowErrors CausalScoreErrors(float[] ours, float[] reference, int rows)
    {
        var a = new float[rows * rows];
        var b = new float[rows * rows];
        for (var s = 0; s < rows; s++)
        {
            for (var t = 0; t <= s; t++)
            {
                a[s * rows + t] = ours[s * rows + t];
                b[s * rows + t] = reference[s * rows + t];
            }
        }

        return RowErrors.Compare(a, b, rows);
    }
}
