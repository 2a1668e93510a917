using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tests.Golden;
using KernelSharp.Runtime.Tests.KernelModel;
using KernelSharp.Runtime.Tests.Model;
using Xunit;

namespace KernelSharp.Runtime.Tests.Invariants;

/// <summary>
/// <see cref="DeepSeekModel.PrefillBatch"/> reads several sequences' tokens in one forward pass (how the server reads a
/// step's prompt pieces): each sequence must end as if its tokens had been read alone — the same logits after its last
/// token, the same keys in its cache (checked through the decode step that follows) — whether it starts empty or
/// continues a cache, stays below index_topk, crosses it or is past it, and whether its piece is one token or many.
/// </summary>
public sealed class PrefillBatchTests
{
    private const double Tolerance = 1e-5; // fp32: other batch shapes change thread splits only

    /// <summary>(tokens already cached, tokens in the batch's piece) per sequence.</summary>
    private static readonly (int Cached, int Piece)[] Shapes = [(0, 5), (20, 25), (0, 40), (10, 1)];

    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Each_sequence_of_a_batch_ends_as_if_read_alone(string fixture) => Check(Fixtures.Model(fixture));

    [SkippableTheory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Cuda_each_sequence_of_a_batch_ends_as_if_read_alone(string fixture)
    {
        var reason = KernelDevices.UnavailableReason(KernelBackend.Cuda);
        Skip.If(reason is not null, reason);
        Check(Fixtures.Model(fixture, "cuda"));
    }

    private static void Check(DeepSeekModel model)
    {
        var vocab = model.Config.VocabSize;
        var prompts = Shapes.Select((s, i) => CacheInvariantTests.Tokens(model, s.Cached + s.Piece, seed: 200 + i)).ToArray();
        int[] next = [3, 44, 250, 7];

        var expectedLast = new List<float>();
        var expectedNext = new List<float>();
        foreach (var (prompt, token) in prompts.Zip(next))
        {
            using var alone = model.CreateSession(64);
            expectedLast.AddRange(alone.PrefillLast(prompt));
            expectedNext.AddRange(alone.Decode(token));
        }

        var sessions = Shapes.Select((shape, i) =>
        {
            var session = model.CreateSession(64);
            if (shape.Cached > 0)
            {
                session.Prefill(prompts[i].AsSpan(0, shape.Cached));
            }
            return session;
        }).ToList();
        try
        {
            var parts = sessions.Select((s, i) => (s, (ReadOnlyMemory<int>)prompts[i].AsMemory(Shapes[i].Cached))).ToList();
            var last = new float[Shapes.Length * vocab];
            model.PrefillBatch(parts, last);

            Assertions.Close([.. expectedLast], last, Tolerance, "the logits after each piece's last token");
            Assert.Equal(Shapes.Select(s => s.Cached + s.Piece), sessions.Select(s => s.Length));
            Assertions.Close([.. expectedNext], model.DecodeBatch(sessions, next), Tolerance, "the decode step after the batch (the keys it cached)");
        }
        finally
        {
            sessions.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public void A_batch_over_one_pass_reads_each_piece_on_its_own()
    {
        var shared = Fixtures.Model(Fixtures.Bf16);
        using var small = DeepSeekModel.Load(Fixtures.Directory(Fixtures.Bf16), new ModelLoadOptions { Device = "cpu" });
        small.PrefillChunkTokens = 16; // 30 + 12 rows: more than one pass holds
        var vocab = shared.Config.VocabSize;
        var a = CacheInvariantTests.Tokens(shared, 30, seed: 1);
        var b = CacheInvariantTests.Tokens(shared, 12, seed: 2);
        using var aloneA = shared.CreateSession(64);
        using var aloneB = shared.CreateSession(64);
        float[] expected = [.. aloneA.PrefillLast(a), .. aloneB.PrefillLast(b)];

        using var first = small.CreateSession(64);
        using var second = small.CreateSession(64);
        var last = new float[2 * vocab];
        small.PrefillBatch([(first, a), (second, b)], last);

        Assertions.Close(expected, last, Tolerance, "pieces read on their own");
        Assert.Equal([30, 12], new[] { first.Length, second.Length });
    }

    [Fact]
    public void A_refused_batch_leaves_every_cache_as_it_was()
    {
        var model = Fixtures.Model(Fixtures.Bf16);
        var vocab = model.Config.VocabSize;
        using var first = model.CreateSession(16);
        using var second = model.CreateSession(16);
        first.Prefill([1, 2, 3]);
        var last = new float[2 * vocab];

        var outside = Assert.Throws<UserInputException>(() => model.PrefillBatch([(first, new[] { 4, 5 }), (second, new[] { 6, vocab })], last));
        Assert.Contains("outside the vocabulary", outside.Message);
        var tooLong = Assert.Throws<UserInputException>(() => model.PrefillBatch([(first, new[] { 4 }), (second, new int[17])], last));
        Assert.Contains("at most 16", tooLong.Message);
        var twice = Assert.Throws<UserInputException>(() => model.PrefillBatch([(first, new[] { 4 }), (first, new[] { 5 })], last));
        Assert.Contains("same session twice", twice.Message);
        var empty = Assert.Throws<UserInputException>(() => model.PrefillBatch([(first, new[] { 4 }), (second, Array.Empty<int>())], last));
        Assert.Contains("without tokens", empty.Message);
        Assert.Throws<ArgumentException>(() => model.PrefillBatch([(first, new[] { 4 })], last)); // room for two rows of logits, one part

        Assert.Equal(3, first.Length);
        Assert.Equal(0, second.Length);
        Assertions.Close(Reference(model, [1, 2, 3, 4]), ReadOne(model, first, 4), Tolerance, "the refused batches left the first cache usable");
    }

    private static float[] Reference(DeepSeekModel model, int[] tokens)
    {
        using var session = model.CreateSession(16);
        return session.PrefillLast(tokens);
    }

    private static float[] ReadOne(DeepSeekModel model, InferenceSession session, int token)
    {
        var last = new float[model.Config.VocabSize];
        model.PrefillBatch([(session, new[] { token })], last);
        return last;
    }
}
