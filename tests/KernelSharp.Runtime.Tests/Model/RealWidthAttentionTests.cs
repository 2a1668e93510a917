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

        int[] prompt = [5, 77, 300];
        var expected = Logits(directory, new ModelLoadOptions { TestBackend = () => new CpuBackend(), MaxContext = 64 }, prompt);
        foreach (var device in new[] { "cpu", "ilgpu-cpu" })
        {
            var actual = Logits(directory, new ModelLoadOptions { Device = device, MaxContext = 64 }, prompt);
            Assert.Equal(expected.Length, actual.Length);
            var scale = expected.Max(MathF.Abs);
            var worst = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
            Assert.True(scale > 0 && worst <= 1e-3f * scale, $"{device}: largest logit difference {worst} against logits up to {scale}");
        }
    }

    /// <summary>The prompt's prefill logits, then one decode step's, one after the other.</summary>
    private static float[] Logits(string directory, ModelLoadOptions options, int[] prompt)
    {
        using var model = DeepSeekModel.Load(directory, options);
        using var session = model.CreateSession(64);
        var prefill = session.Prefill(prompt);
        var decode = session.Decode(9);
        return [.. prefill, .. decode];
    }
}
