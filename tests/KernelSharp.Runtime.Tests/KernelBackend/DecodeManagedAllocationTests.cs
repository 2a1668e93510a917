using System.Text.Json.Nodes;
using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tests.Golden;
using Xunit;
using Xunit.Abstractions;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// A decode step that writes its logits into the caller's buffer allocates no vocabulary-sized host array, and neither
/// does a sampled draw: at DeepSeek's vocabulary (129 280 tokens) each such array is 0.5-1 MB, lands on the
/// large-object heap, and at decode rates those arrays started a full garbage collection every few tokens (10 per 64
/// tokens at batch 1, 67 per 64 steps at batch 8 in a CPU run of mid-5b's first two layers). Measured as the bytes
/// the calling thread allocates, so tests running beside this one do not count.
/// </summary>
public sealed class DecodeManagedAllocationTests(ITestOutputHelper output) : IDisposable
{
    private const int Vocabulary = 129_280;
    private const int Steps = 8;
    private readonly string directory = Directory.CreateTempSubdirectory("ks-vocab-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    /// <summary>The tiny bf16 fixture's config with DeepSeek-V3's vocabulary, weights generated from a seed.</summary>
    private DeepSeekModel LoadWideVocabularyModel()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.Directory(Fixtures.Bf16), "config.json")))!.AsObject();
        config["vocab_size"] = Vocabulary;
        var path = Path.Combine(directory, "config.json");
        File.WriteAllText(path, config.ToJsonString());
        return DeepSeekModel.Load(path, new ModelLoadOptions { SyntheticSeed = 3, Device = "cpu", MaxContext = 64 });
    }

    private static long BytesPerStep(Action step)
    {
        step(); // warm: first-use state (pool buffers, JIT) is not what a step costs
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Steps; i++)
        {
            step();
        }
        return (GC.GetAllocatedBytesForCurrentThread() - before) / Steps;
    }

    [Fact]
    public void Decode_steps_into_a_buffer_allocate_less_than_one_logits_row()
    {
        using var model = LoadWideVocabularyModel();
        using var session = model.CreateSession(64);
        session.Prefill([1, 2, 3]);
        var logits = new float[Vocabulary];
        int token = 5;

        long intoBuffer = BytesPerStep(() => session.Decode(token++, logits));
        long returned = BytesPerStep(() => session.Decode(token++));
        output.WriteLine($"per decode step on this thread: {intoBuffer} bytes into the caller's buffer, {returned} returning a new array (a row is {Vocabulary * sizeof(float)} bytes)");

        Assert.True(returned >= Vocabulary * sizeof(float), $"the returning form allocated {returned} bytes per step: the measure does not see the thread's allocations");
        Assert.True(intoBuffer < Vocabulary * sizeof(float) / 4, $"a decode step into the caller's buffer allocated {intoBuffer} bytes on the calling thread");
    }

    [Fact]
    public void Batched_decode_steps_into_a_buffer_allocate_less_than_one_logits_row()
    {
        using var model = LoadWideVocabularyModel();
        var sessions = Enumerable.Range(0, 4).Select(_ => model.CreateSession(64)).ToList();
        try
        {
            int[] tokens = [7, 8, 9, 10];
            var logits = new float[tokens.Length * Vocabulary];
            long perStep = BytesPerStep(() => model.DecodeBatch(sessions, tokens, logits));
            output.WriteLine($"per batched step of {tokens.Length}: {perStep} bytes on this thread");
            Assert.True(perStep < Vocabulary * sizeof(float) / 4, $"a batched decode step into the caller's buffer allocated {perStep} bytes on the calling thread");
        }
        finally
        {
            sessions.ForEach(s => s.Dispose());
        }
    }

    [Theory]
    [InlineData(0.8f, 0, 1f)]     // temperature only: every token's weight
    [InlineData(0.8f, 0, 0.95f)]  // top-p over the whole vocabulary
    [InlineData(0.8f, 40, 0.95f)] // top-k then top-p
    public void A_sampled_draw_allocates_no_vocabulary_sized_array(float temperature, int topK, float topP)
    {
        // A language model's shape: a few likely tokens well above a wide spread of unlikely ones. (The nucleus's own
        // arrays scale with the nucleus, so a flat distribution, whose 95% holds most of the vocabulary, needs more.)
        var random = new Random(11);
        var logits = new float[Vocabulary];
        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)(random.NextDouble() * 8 - 4);
        }
        for (int i = 0; i < 20; i++)
        {
            logits[random.Next(Vocabulary)] = 14 + i * 0.1f;
        }
        var sampler = new TokenSampler(new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP, Seed = 5 });

        long perDraw = BytesPerStep(() => sampler.Sample(logits));
        output.WriteLine($"per draw (T {temperature}, top-k {topK}, top-p {topP}): {perDraw} bytes");
        Assert.True(perDraw < Vocabulary * sizeof(float) / 4, $"a draw allocated {perDraw} bytes");
    }
}
