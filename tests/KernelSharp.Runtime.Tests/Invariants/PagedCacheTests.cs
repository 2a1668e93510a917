using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tests.Golden;
using KernelSharp.Runtime.Tests.KernelModel;
using KernelSharp.Runtime.Tests.Model;
using Xunit;

namespace KernelSharp.Runtime.Tests.Invariants;

/// <summary>
/// Sequences that share one paged KV cache (blocks handed out as they grow, so their rows interleave and blocks come
/// back out of order) must compute exactly what each computes with caches of its own: on the CPU (the kernel library's
/// generated CPU path: the same paged kernels as the GPUs, one launch for all sequences) and on CUDA.
/// </summary>
public sealed class PagedCacheTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<string, string> Devices => new()
    {
        { Fixtures.Bf16, "cpu" },
        { Fixtures.Fp8Yarn, "cpu" },
    };

    [Theory]
    [MemberData(nameof(Devices))]
    public void Sequences_sharing_a_paged_cache_match_each_alone(string fixture, string device) => CheckShared(fixture, device);

    [SkippableTheory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Cuda_sequences_sharing_a_paged_cache_match_each_alone(string fixture)
    {
        var reason = KernelDevices.UnavailableReason(KernelBackend.Cuda);
        Skip.If(reason is not null, reason);
        CheckShared(fixture, "cuda");
    }

    private static void CheckShared(string fixture, string device)
    {
        var model = Fixtures.Model(fixture, device);
        var vocab = model.Config.VocabSize;
        int[] promptLengths = [23, 9, 41]; // below, near and past index_topk (32)
        var prompts = promptLengths.Select((n, i) => CacheInvariantTests.Tokens(model, n, seed: 300 + i)).ToArray();
        var steps = Enumerable.Range(0, 6).Select(i => CacheInvariantTests.Tokens(model, prompts.Length, seed: 400 + i)).ToArray();

        // blocks of 4 positions: every sequence spans many blocks, taken in turns
        using var kvCache = model.CreateSharedKvCache(3 * 64, blockSize: 4);
        using var blocker = model.CreateSession(8, kvCache); // holds the first blocks, then leaves a hole the others refill
        blocker.Prefill(CacheInvariantTests.Tokens(model, 8, seed: 1));
        var sessions = prompts.Select(_ => model.CreateSession(56, kvCache)).ToList();
        for (var start = 0; start < promptLengths.Max(); start += 5) // the prompts in chunks of 5, sequence after sequence
        {
            for (var b = 0; b < sessions.Count; b++)
            {
                if (start < prompts[b].Length)
                {
                    sessions[b].Prefill(prompts[b].AsSpan(start, Math.Min(5, prompts[b].Length - start)));
                }
            }

            if (start == 10)
            {
                blocker.Dispose();
            }
        }

        var batched = steps.Select(step => model.DecodeBatch(sessions, step)).ToList();

        for (var b = 0; b < sessions.Count; b++)
        {
            using var alone = model.CreateSession(56);
            alone.Prefill(prompts[b]);
            for (var i = 0; i < steps.Length; i++)
            {
                Assertions.Close(alone.Decode(steps[i][b]), batched[i].AsSpan(b * vocab, vocab), Tolerance, $"{fixture} on {device}: sequence {b}, step {i}");
            }
        }

        Assert.True(kvCache.UsedBlocks > 0);
        sessions.ForEach(s => s.Dispose());
        Assert.Equal(0, kvCache.UsedBlocks);
        Assert.Equal(kvCache.Blocks, kvCache.UnreservedBlocks);
    }

    [Fact]
    public void A_session_takes_blocks_as_it_grows_and_a_full_cache_refuses_in_one_line()
    {
        var model = Fixtures.Model(Fixtures.Bf16);
        using var kvCache = model.CreateSharedKvCache(64, blockSize: 8); // 8 blocks
        using var session = model.CreateSession(40, kvCache);           // reserves 5

        Assert.Equal(0, kvCache.UsedBlocks);
        Assert.Equal(3, kvCache.UnreservedBlocks);
        session.Prefill(CacheInvariantTests.Tokens(model, 9, seed: 2));
        Assert.Equal(2, kvCache.UsedBlocks);

        var refused = Assert.Throws<UserInputException>(() => model.CreateSession(32, kvCache));
        Assert.Equal("a session of 32 tokens needs 4 blocks of the shared KV cache but 3 of 8 are free; wait for other sessions to end or use a shorter maximum context", refused.Message);
        using var fits = model.CreateSession(24, kvCache);
        Assert.Equal(0, kvCache.UnreservedBlocks);
    }
}
