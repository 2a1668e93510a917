using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Tests.Golden;
using Xunit;
using Xunit.Abstractions;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// The whole DeepSeek-V3.2 forward pass on the kernel library against the fixtures' Hugging Face reference: prefill
/// logits (median per-row relative error ≤ 1e-4, p99 ≤ 1e-3, argmax agreement ≥ 98%) and greedy decoding with the
/// KV cache (tokens equal, step logits within the same contract), including the decode that crosses index_topk.
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class KernelBackendGoldenTests(KernelBackendFixture backends, ITestOutputHelper output)
{
    /// <summary>Prefill rows checked on the (slow) ILGPU CPU accelerator: causal, so the first rows of a shorter prefill are exact.</summary>
    private const int IlgpuCpuRows = 16;

    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void FastCpu_prefill_logits_meet_the_contract(string fixture) => CheckPrefill(fixture, KernelBackend.FastCpu, rows: null);

    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void FastCpu_greedy_decode_reproduces_tokens_and_step_logits(string fixture)
    {
        CheckDecode(fixture, KernelBackend.FastCpu, "decode");
        CheckDecode(fixture, KernelBackend.FastCpu, "decode_cross");
    }

    /// <summary>
    /// The tensor-core decode GEMV (CUDA's path under KS_DECODE_GEMV=tensor-cores: every decode-row Linear on bf16/FP8
    /// weights with columns a multiple of 128) through the whole model, on FastCpu's generated path of the same kernel:
    /// greedy decode meets the same contract, and its step logits are not the CUDA-core GEMV's bits (so the path ran).
    /// </summary>
    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void FastCpu_greedy_decode_on_the_tensor_core_gemv_meets_the_contract(string fixture)
    {
        var backend = backends.Get(KernelBackend.FastCpu);
        var cudaCores = CheckDecode(fixture, KernelBackend.FastCpu, "decode");
        backend.DecodeOnTensorCoresOverride = true;
        try
        {
            var tensorCores = CheckDecode(fixture, KernelBackend.FastCpu, "decode");
            Assert.NotEqual(cudaCores, tensorCores);
        }
        finally
        {
            backend.DecodeOnTensorCoresOverride = null;
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void IlgpuCpu_prefill_logits_of_the_first_rows_meet_the_contract(string fixture) => CheckPrefill(fixture, KernelBackend.IlgpuCpu, IlgpuCpuRows);

    [SkippableTheory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Cuda_prefill_and_decode_meet_the_contract(string fixture) => CheckGpu(fixture, KernelBackend.Cuda);

    [SkippableTheory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void OpenCL_prefill_and_decode_meet_the_contract(string fixture) => CheckGpu(fixture, KernelBackend.OpenCL);

    private void CheckGpu(string fixture, KernelBackend kind)
    {
        var reason = KernelDevices.UnavailableReason(kind);
        Skip.If(reason is not null, reason);
        CheckPrefill(fixture, kind, rows: null);
        CheckDecode(fixture, kind, "decode");
        CheckDecode(fixture, kind, "decode_cross");
    }

    private void CheckPrefill(string fixture, KernelBackend kind, int? rows)
    {
        using var golden = Fixtures.Golden(fixture);
        var tokens = golden.Ints("prefill.input_ids");
        var count = Math.Min(rows ?? tokens.Length, tokens.Length);
        using var model = new KernelModelHarness(fixture, backends.Get(kind), count);
        var vocab = model.Config.VocabSize;

        var logits = model.Prefill(tokens.AsSpan(0, count));

        var reference = golden.Floats("prefill.logits").AsSpan(0, count * vocab);
        var errors = RowErrors.Compare(logits, reference, vocab);
        output.WriteLine($"{kind} {fixture} prefill logits ({count} rows): {errors}");
        Assert.True(errors.Median <= 1e-4, $"median {errors}");
        Assert.True(errors.P99 <= 1e-3, $"p99 {errors}");
        Assert.True(errors.ArgmaxAgreement >= 0.98, $"argmax {errors}");
    }

    /// <summary>Checks greedy decode against the golden steps; returns the step logits [N, V].</summary>
    private float[] CheckDecode(string fixture, KernelBackend kind, string prefix)
    {
        using var golden = Fixtures.Golden(fixture);
        var prompt = golden.Ints($"{prefix}.prompt_ids");
        var expectedTokens = golden.Ints($"{prefix}.generated_ids");
        var referenceSteps = golden.Floats($"{prefix}.step_logits"); // [N, V]
        using var model = new KernelModelHarness(fixture, backends.Get(kind), prompt.Length + expectedTokens.Length);
        var vocab = model.Config.VocabSize;

        // Each step feeds the reference token, so one near-tie cannot derail the rest; our own argmax is checked separately.
        var steps = new float[referenceSteps.Length];
        var generated = new int[expectedTokens.Length];
        var logits = model.Prefill(prompt).AsSpan((prompt.Length - 1) * vocab, vocab).ToArray();
        for (var n = 0; n < expectedTokens.Length; n++)
        {
            logits.CopyTo(steps, n * vocab);
            generated[n] = RowErrors.ArgMax(logits);
            logits = model.Prefill([expectedTokens[n]]);
        }

        var errors = RowErrors.Compare(steps, referenceSteps, vocab);
        output.WriteLine($"{kind} {fixture} {prefix}: {generated.Zip(expectedTokens).Count(p => p.First == p.Second)}/{expectedTokens.Length} greedy tokens agree; step logits {errors}");
        Assert.True(errors.Median <= 1e-4, $"median {errors}");
        Assert.True(errors.P99 <= 1e-3, $"p99 {errors}");
        Assert.True(errors.ArgmaxAgreement >= 0.98, $"argmax {errors}");
        Assert.Equal(expectedTokens, generated);
        return steps;
    }
}
