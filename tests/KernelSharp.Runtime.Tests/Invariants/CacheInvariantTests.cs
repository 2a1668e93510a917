using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tests.Golden;
using KernelSharp.Runtime.Tests.Model;
using Xunit;

namespace KernelSharp.Runtime.Tests.Invariants;

/// <summary>
/// The cache must make incremental runs identical to one long prefill: prefill(0..t) then decode(t+1) equals
/// prefill(0..t+1), below index_topk (dense), where the key count crosses it, and above it (sparse).
/// </summary>
public sealed class CacheInvariantTests
{
    /// <summary>fp32 with different batch shapes reorders nothing in our kernels except thread splits: allow rounding only.</summary>
    private const double Tolerance = 1e-5;

    public static TheoryData<string, int> Cases => new()
    {
        { Fixtures.Bf16, 10 },      // 11 keys ≤ index_topk 32: dense
        { Fixtures.Bf16, 31 },      // 32 keys = index_topk: the last dense step
        { Fixtures.Bf16, 32 },      // 33 keys: the first sparse step
        { Fixtures.Fp8Yarn, 31 },
        { Fixtures.Fp8Yarn, 32 },
        { Fixtures.Fp8Yarn, 90 },   // well past index_topk
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Prefill_then_decode_equals_one_longer_prefill(string fixture, int t)
    {
        var model = Fixtures.Model(fixture);
        var tokens = Tokens(model, t + 1, seed: t);
        var vocab = model.Config.VocabSize;
        using var whole = model.CreateSession(t + 1);
        var expected = whole.Prefill(tokens).AsSpan(t * vocab, vocab).ToArray();

        using var incremental = model.CreateSession(t + 1);
        incremental.Prefill(tokens.AsSpan(0, t));
        var actual = incremental.Decode(tokens[t]);

        Assertions.Close(expected, actual, Tolerance, $"{fixture} decode at position {t}");
        Assert.Equal(t + 1, incremental.Length);
    }

    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Chunked_prefill_across_index_topk_equals_one_prefill(string fixture)
    {
        var model = Fixtures.Model(fixture);
        var tokens = Tokens(model, 70, seed: 7);
        using var whole = model.CreateSession(70);
        var expected = whole.Prefill(tokens);

        using var chunked = model.CreateSession(70);
        var first = chunked.Prefill(tokens.AsSpan(0, 20));
        var second = chunked.Prefill(tokens.AsSpan(20, 25)); // keys cross index_topk inside this chunk
        var third = chunked.Prefill(tokens.AsSpan(45));

        Assertions.Close(expected, [.. first, .. second, .. third], Tolerance, $"{fixture} chunked prefill");
    }

    [Fact]
    public void Long_prompts_split_into_chunks_give_the_same_logits()
    {
        var shared = Fixtures.Model(Fixtures.Fp8Yarn);
        using var chunking = DeepSeekModel.Load(Fixtures.Directory(Fixtures.Fp8Yarn), new ModelLoadOptions { Device = "cpu" });
        chunking.PrefillChunkTokens = 16;
        var tokens = Tokens(shared, 75, seed: 9);
        using var whole = shared.CreateSession(75);
        using var pieces = chunking.CreateSession(75);
        using var last = chunking.CreateSession(75);

        var expected = whole.Prefill(tokens);

        Assertions.Close(expected, pieces.Prefill(tokens), Tolerance, "prefill in chunks of 16");
        Assertions.Close(expected.AsSpan(74 * shared.Config.VocabSize), last.PrefillLast(tokens), Tolerance, "last row after chunks");
        Assert.Equal(75, pieces.Length);
    }

    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Batch_decode_equals_decoding_each_sequence_alone(string fixture)
    {
        var model = Fixtures.Model(fixture);
        var vocab = model.Config.VocabSize;
        int[] promptLengths = [5, 31, 40, 1]; // dense, crossing index_topk, sparse, single token
        var prompts = promptLengths.Select((n, i) => Tokens(model, n, seed: 100 + i)).ToArray();
        int[] next = [3, 44, 250, 511];

        var expected = new List<float>();
        foreach (var (prompt, token) in prompts.Zip(next))
        {
            using var alone = model.CreateSession(64);
            alone.Prefill(prompt);
            expected.AddRange(alone.Decode(token));
        }

        var sessions = prompts.Select(p =>
        {
            var session = model.CreateSession(64);
            session.Prefill(p);
            return session;
        }).ToList();
        var batched = model.DecodeBatch(sessions, next);
        int[] following = [9, 8, 7, 6];
        var again = model.DecodeBatch(sessions, following); // a second step reads the keys the first one cached

        Assertions.Close([.. expected], batched, Tolerance, $"{fixture} batch decode");
        Assert.Equal(promptLengths.Select(n => n + 2), sessions.Select(s => s.Length));
        for (var b = 0; b < sessions.Count; b++)
        {
            using var alone = model.CreateSession(64);
            alone.Prefill([.. prompts[b], next[b]]);
            Assertions.Close(alone.Decode(following[b]), again.AsSpan(b * vocab, vocab), Tolerance, $"{fixture} second batch step, sequence {b}");
        }

        sessions.ForEach(s => s.Dispose());
    }

    [Fact]
    public void Reset_forgets_the_sequence()
    {
        var model = Fixtures.Model(Fixtures.Bf16);
        var tokens = Tokens(model, 40, seed: 3);
        using var fresh = model.CreateSession(40);
        var first = fresh.Prefill(tokens);
        using var session = model.CreateSession(40);
        session.Prefill(Tokens(model, 35, seed: 4));

        session.Reset();

        Assert.Equal(0, session.Length);
        Assert.Equal(first, session.Prefill(tokens));
    }

    internal static int[] Tokens(DeepSeekModel model, int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(model.Config.VocabSize)).ToArray();
    }
}
