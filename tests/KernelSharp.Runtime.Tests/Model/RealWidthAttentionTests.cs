using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tests.KernelModel;
using KernelSharp.Runtime.Tests.Reference;
using Xunit;

namespace KernelSharp.Runtime.Tests.Model;

/// <summary>
/// DeepSeek-V3.2's real attention and routing widths (128 heads of nope 128 + rope 64 and v 128, kv_lora 512,
/// indexer 64 × 128 with top-2048, 256 experts in 8 groups with 4 kept and 8 per token, YaRN factor 40) on a narrow
/// hidden size and q_lora, FP8 like the release: the kernel backend (ILGPU's CPU accelerator, which runs the GPU kernels' groups
/// and shared memory as written) and the CPU (the kernels' host forms) must both give the fp32 reference's logits. Mid-size checkpoints have 16 heads and 64 experts,
/// so kernels that silently assumed those widths fail here.
/// </summary>
[Collection(KernelBackendCollection.Name)] // loads a model on ILGPU's CPU accelerator: not beside another one
public sealed class RealWidthAttentionTests
{
    private static readonly ModelConfig RealAttentionWidths = (ModelPresets.DeepSeekV32 with
    {
        VocabSize = 512,
        HiddenSize = 256,
        NumHiddenLayers = 2,
        FirstKDenseReplace = 1,
        IntermediateSize = 128,
        MoeIntermediateSize = 16,
        QLoraRank = 128, // the one narrowed attention width: q_b_proj [24576, q_lora] dominates the test's time on the CPU accelerator
    }).Validate("real attention widths, narrow hidden size");

    [Fact]
    public void The_kernel_backend_matches_the_fp32_reference_at_128_heads_and_256_experts()
    {
        using var folder = new TemporaryFolder();
        var directory = Path.Combine(folder.Path, "model");
        RandomCheckpointWriter.Write(RealAttentionWidths, directory, seed: 14, WeightFormat.Fp8);

        // The CPU: a 3-token prompt and a decode step. ILGPU's CPU accelerator: a 2-token prompt only (the second row
        // attends over two keys), because it runs every lane of these widths as a thread: the value up-projection alone
        // (a warp per row, 128 heads × 128 values) took about a minute per launch there on 2 cores, which made this test
        // 5 of the suite's minutes with the decode step.
        int[] prompt = [5, 77, 300];
        Compare(directory, "cpu", prompt, decode: true);
        Compare(directory, "ilgpu-cpu", prompt[..2], decode: false);
    }

    private static void Compare(string directory, string device, int[] prompt, bool decode)
    {
        var expected = Logits(directory, new ModelLoadOptions { TestBackend = () => new CpuBackend(), MaxContext = 64 }, prompt, decode);
        var actual = Logits(directory, new ModelLoadOptions { Device = device, MaxContext = 64 }, prompt, decode);
        Assert.Equal(expected.Length, actual.Length);
        var scale = expected.Max(MathF.Abs);
        var worst = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        Assert.True(scale > 0 && worst <= 1e-3f * scale, $"{device}: largest logit difference {worst} against logits up to {scale}");
    }

    /// <summary>The prompt's prefill logits, then (when asked) one decode step's, one after the other.</summary>
    private static float[] Logits(string directory, ModelLoadOptions options, int[] prompt, bool decode)
    {
        using var model = DeepSeekModel.Load(directory, options);
        using var session = model.CreateSession(64);
        var prefill = session.Prefill(prompt);
        return decode ? [.. prefill, .. session.Decode(9)] : prefill;
    }
}
