using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Serving;
using KernelSharp.Runtime.Tests.Golden;
using Xunit;

namespace KernelSharp.Runtime.Tests.Serving;

/// <summary>The serving engine on the tiny bf16 checkpoint, on the CPU: batching, admission, cancellation, draining.</summary>
public sealed class ServingEngineTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static DeepSeekModel Model => Fixtures.Model(Fixtures.Bf16);

    [Theory]
    [InlineData("cpu", 11)]
    public Task Greedy_tokens_are_the_same_alone_and_among_many_others(string device, int others) => CheckAloneAndAmongOthers(device, others);

    /// <summary>On the GPU a step of 64 sequences runs the batched kernels (GEMM instead of GEMV, one attention launch for all).</summary>
    [SkippableFact]
    public Task Cuda_greedy_tokens_are_the_same_alone_and_among_63_others()
    {
        var reason = KernelSharp.Runtime.Tests.KernelModel.KernelDevices.UnavailableReason(KernelSharp.Dsl.Launch.KernelBackend.Cuda);
        Skip.If(reason is not null, reason);
        return CheckAloneAndAmongOthers("cuda", 63);
    }

    private static async Task CheckAloneAndAmongOthers(string device, int otherCount)
    {
        var model = Fixtures.Model(Fixtures.Bf16, device);
        // chunk 8: the 37-token prompts prefill over several steps while other sequences decode
        var options = new ServingOptions(MaxBatch: otherCount + 1, MaxQueue: otherCount + 8, KvTokenBudget: (otherCount + 1) * 64, MaxContext: 64, PrefillChunkTokens: 8);
        var probe = Request(Prompt(37, seed: 1), maxNewTokens: 12, SamplingOptions.Greedy);

        IReadOnlyList<int> alone;
        using (var engine = new ServingEngine(model, options))
        {
            alone = (await Finish(engine.Submit(probe))).TokenIds;
        }

        IReadOnlyList<int> among;
        using (var engine = new ServingEngine(model, options))
        {
            // others start before and after the probe, with other prompt lengths, lengths and sampling
            var others = new List<ServingSequence>();
            var before = otherCount / 2;
            for (var i = 0; i < before; i++)
            {
                others.Add(engine.Submit(Request(Prompt(3 + (9 * i % 37), seed: 10 + i), maxNewTokens: 4 + (5 * i % 20), new SamplingOptions(0.9f, 0, 0.9f, Seed: i))));
            }

            var probeSequence = engine.Submit(probe);
            for (var i = 0; i < otherCount - before; i++)
            {
                others.Add(engine.Submit(Request(Prompt(50 - (7 * i % 47), seed: 20 + i), maxNewTokens: 3 + (i % 9), SamplingOptions.Greedy)));
            }

            among = (await Finish(probeSequence)).TokenIds;
            foreach (var other in others)
            {
                Assert.Equal(FinishReason.Length, (await Finish(other)).FinishReason);
            }

            Assert.True(engine.Metrics.Steps < 12 + otherCount * 13, "the sequences shared steps (continuous batching), not one after another");
        }

        Assert.Equal(12, alone.Count);
        Assert.Equal(alone, among);
    }

    [Fact]
    public async Task The_engine_continues_a_prompt_like_a_plain_session()
    {
        var prompt = Prompt(20, seed: 5);
        using var session = Model.CreateSession(32);
        var logits = session.PrefillLast(prompt);
        var expected = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            var token = TokenSampler.ArgMax(logits);
            expected.Add(token);
            logits = session.Decode(token);
        }

        using var engine = new ServingEngine(Model, new ServingOptions(MaxContext: 32, KvTokenBudget: 64, PrefillChunkTokens: 64));
        var result = await Finish(engine.Submit(Request(prompt, maxNewTokens: 6, SamplingOptions.Greedy)));

        Assert.Equal(expected, result.TokenIds);
        Assert.Equal(20, result.Stats.PromptTokens);
    }

    [Fact]
    public async Task A_seeded_sampled_request_repeats_among_other_requests()
    {
        var options = new ServingOptions(MaxBatch: 4, KvTokenBudget: 4 * 48, MaxContext: 48, PrefillChunkTokens: 16);
        var request = Request(Prompt(10, seed: 2), maxNewTokens: 10, new SamplingOptions(1.0f, 0, 0.95f, Seed: 1234));
        using var engine = new ServingEngine(Model, options);

        var first = await Finish(engine.Submit(request));
        var crowd = Enumerable.Range(0, 3).Select(i => engine.Submit(Request(Prompt(5 + i, seed: 40 + i), 8, SamplingOptions.Greedy))).ToList();
        var second = await Finish(engine.Submit(request));
        await Task.WhenAll(crowd.Select(Finish));

        Assert.Equal(first.TokenIds, second.TokenIds);
        Assert.Equal(1234, second.Seed);
    }

    [Fact]
    public async Task A_full_queue_rejects_and_a_too_long_prompt_is_refused()
    {
        // the running request is long enough (seconds) that it surely still runs while the queue fills; it is cancelled at the end
        using var engine = new ServingEngine(Model, new ServingOptions(MaxBatch: 1, MaxQueue: 1, KvTokenBudget: 2048, MaxContext: 2048));
        var runningSequence = engine.Submit(Request(Prompt(4, seed: 1), maxNewTokens: 2000, SamplingOptions.Greedy));
        await WaitUntil(() => engine.Metrics.Running == 1);
        var queued = engine.Submit(Request(Prompt(4, seed: 2), maxNewTokens: 2, SamplingOptions.Greedy));

        var full = Assert.Throws<ServingRejectedException>(() => engine.Submit(Request(Prompt(4, seed: 3), 2, SamplingOptions.Greedy)));
        var tooLong = Assert.Throws<ServingRejectedException>(() => engine.Submit(Request(Prompt(2048, seed: 4), 2, SamplingOptions.Greedy)));
        var badToken = Assert.Throws<ServingRejectedException>(() => engine.Submit(Request([Model.Config.VocabSize], 2, SamplingOptions.Greedy)));

        Assert.Equal(RejectionReason.QueueFull, full.Reason);
        Assert.Equal(RejectionReason.TooLong, tooLong.Reason);
        Assert.Contains("2048 tokens", tooLong.Message);
        Assert.Equal(RejectionReason.Invalid, badToken.Reason);
        Assert.Equal(3, engine.Metrics.RequestsRejected);
        runningSequence.Cancel();
        Assert.Equal(FinishReason.Length, (await Finish(queued)).FinishReason);
    }

    [Fact]
    public async Task Cancelling_a_running_sequence_frees_its_cache_at_once()
    {
        using var engine = new ServingEngine(Model, new ServingOptions(MaxBatch: 2, KvTokenBudget: 4096, MaxContext: 2048));
        using var caller = new CancellationTokenSource();
        var sequence = engine.Submit(Request(Prompt(8, seed: 7), maxNewTokens: 2000, SamplingOptions.Greedy), caller.Token); // runs for seconds
        await WaitUntil(() => sequence.GeneratedTokens >= 2);
        Assert.Equal(2008, engine.Metrics.KvPositionsReserved);

        caller.Cancel();
        var result = await Finish(sequence);

        Assert.Equal(FinishReason.Cancelled, result.FinishReason);
        Assert.InRange(result.TokenIds.Count, 2, 1999);
        Assert.Equal(0, engine.Metrics.KvPositionsReserved);
        Assert.Equal(0, engine.Metrics.Running);
    }

    [Fact]
    public async Task A_request_cancelled_while_waiting_leaves_the_queue_at_once()
    {
        using var engine = new ServingEngine(Model, new ServingOptions(MaxBatch: 1, MaxQueue: 4, KvTokenBudget: 2048, MaxContext: 2048));
        var runningSequence = engine.Submit(Request(Prompt(4, seed: 1), maxNewTokens: 2000, SamplingOptions.Greedy)); // still running when cancelled below
        await WaitUntil(() => engine.Metrics.Running == 1);
        var first = engine.Submit(Request(Prompt(4, seed: 2), maxNewTokens: 2, SamplingOptions.Greedy));
        var second = engine.Submit(Request(Prompt(4, seed: 3), maxNewTokens: 2, SamplingOptions.Greedy));

        second.Cancel(); // behind another waiting request, while the only slot is busy

        Assert.Equal(FinishReason.Cancelled, (await Finish(second)).FinishReason);
        Assert.Equal(1, engine.Metrics.QueueLength);
        runningSequence.Cancel();
        Assert.Equal(FinishReason.Length, (await Finish(first)).FinishReason);
    }

    [Fact]
    public async Task A_request_waits_for_cache_memory_instead_of_failing()
    {
        // the first reserves 2030 of 2048 positions (and runs for seconds): the second (40) waits until the first ends
        using var engine = new ServingEngine(Model, new ServingOptions(MaxBatch: 4, KvTokenBudget: 2048, MaxContext: 2048));
        var first = engine.Submit(Request(Prompt(30, seed: 1), maxNewTokens: 2000, SamplingOptions.Greedy));
        await WaitUntil(() => engine.Metrics.Running == 1);
        var second = engine.Submit(Request(Prompt(30, seed: 2), maxNewTokens: 10, SamplingOptions.Greedy));
        await WaitUntil(() => first.GeneratedTokens >= 3); // steps ran while the second waited

        Assert.Equal(1, engine.Metrics.QueueLength);
        Assert.Equal(1, engine.Metrics.Running);
        first.Cancel();
        Assert.Equal(FinishReason.Cancelled, (await Finish(first)).FinishReason);
        Assert.Equal(FinishReason.Length, (await Finish(second)).FinishReason);
        Assert.Equal(0, engine.Metrics.KvPositionsReserved);
    }

    [Fact]
    public async Task Stop_tokens_end_a_sequence_and_draining_finishes_the_rest_then_refuses()
    {
        var prompt = Prompt(12, seed: 9);
        var engine = new ServingEngine(Model, new ServingOptions(MaxBatch: 2, KvTokenBudget: 128, MaxContext: 64));
        var free = await Finish(engine.Submit(Request(prompt, maxNewTokens: 5, SamplingOptions.Greedy)));
        var stopAt = free.TokenIds[2];
        var stopRequest = new ServingRequest(prompt, new GenerationRequest(5, SamplingOptions.Greedy, [stopAt], []));

        var stopped = engine.Submit(stopRequest);
        var others = Enumerable.Range(0, 3).Select(i => engine.Submit(Request(Prompt(6, seed: 60 + i), 6, SamplingOptions.Greedy))).ToList();
        await engine.DrainAsync().WaitAsync(Patience);

        var stoppedResult = await Finish(stopped);
        Assert.Equal(FinishReason.StopToken, stoppedResult.FinishReason);
        Assert.Equal(free.TokenIds.Take(free.TokenIds.ToList().IndexOf(stopAt) + 1), stoppedResult.TokenIds);
        foreach (var other in others)
        {
            Assert.Equal(6, (await Finish(other)).TokenIds.Count);
        }

        var refused = Assert.Throws<ServingRejectedException>(() => engine.Submit(Request(prompt, 2, SamplingOptions.Greedy)));
        Assert.Equal(RejectionReason.ShuttingDown, refused.Reason);
        engine.Dispose();
    }

    /// <summary>
    /// A model whose final norm weight is the largest bf16 value overflows every logit to infinity or NaN (finite weights:
    /// the load-time checks pass them). Each sequence must fail with the error naming the position, as the one-sequence
    /// generation loop does, instead of sampling garbage; the engine frees it and keeps taking requests.
    /// </summary>
    [Fact]
    public async Task Non_finite_logits_fail_the_sequence_with_an_error_naming_the_position()
    {
        using var temp = new Checkpoints.TempFolder();
        var folder = temp.CopyOf(Checkpoints.CheckpointTestFiles.TinyBf16);
        using (var checkpoint = Checkpoint.Open(folder))
        {
            var norm = checkpoint.GetInfo("model.norm.weight");
            using var file = new FileStream(norm.FilePath, FileMode.Open, FileAccess.Write);
            file.Position = norm.DataOffset;
            file.Write(Enumerable.Repeat((byte)0x7F, (int)norm.ByteLength).ToArray()); // bf16 0x7F7F: 3.39e38 in every element
        }

        using var model = DeepSeekModel.Load(folder, new ModelLoadOptions { Device = "cpu" });
        using var engine = new ServingEngine(model, new ServingOptions(MaxBatch: 2, MaxContext: 32, KvTokenBudget: 64));
        var first = engine.Submit(Request(Prompt(5, seed: 1), maxNewTokens: 4, SamplingOptions.Greedy));
        var second = engine.Submit(Request(Prompt(3, seed: 2), maxNewTokens: 4, new SamplingOptions(0.8f, 0, 0.9f, Seed: 3)));

        var error = await Assert.ThrowsAsync<UserInputException>(() => Finish(first));
        Assert.Contains("non-finite logit", error.Message);
        Assert.Contains("at position 5", error.Message);
        Assert.Contains("at position 3", (await Assert.ThrowsAsync<UserInputException>(() => Finish(second))).Message);
        await WaitUntil(() => engine.Metrics.Running == 0 && engine.Metrics.KvPositionsReserved == 0);
        Assert.True(engine.IsAccepting);
    }

    private static ServingRequest Request(int[] prompt, int maxNewTokens, SamplingOptions sampling) =>
        new(prompt, new GenerationRequest(maxNewTokens, sampling));

    private static int[] Prompt(int count, int seed) => Invariants.CacheInvariantTests.Tokens(Model, count, seed);

    private static Task<GenerationResult> Finish(ServingSequence sequence) => sequence.Completion.WaitAsync(Patience);

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the engine did not reach the expected state in time");
            await Task.Delay(5);
        }
    }
}
