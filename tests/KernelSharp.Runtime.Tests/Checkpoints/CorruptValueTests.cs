using System.Text;
using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tests.Generation;
using Xunit;

namespace KernelSharp.Runtime.Tests.Checkpoints;

/// <summary>
/// NaN and infinity never load silently: a corrupt weight is reported with its tensor and element while the checkpoint
/// is read (bf16, FP8 NaN codes, fp32 conversion), and NaN logits stop generation with an error.
/// </summary>
public sealed class CorruptValueTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    public static TheoryData<string, string, byte[]> Corruptions() => new()
    {
        { "bf16", "model.layers.0.self_attn.kv_a_proj_with_mqa.weight", [0xC0, 0x7F] },   // bf16 NaN
        { "bf16", "model.layers.1.mlp.experts.3.down_proj.weight", [0x80, 0x7F] },       // bf16 +infinity
        { "fp8", "model.layers.2.mlp.experts.0.up_proj.weight", [0x7F] },                // e4m3 NaN code
        { "fp8", "model.layers.0.self_attn.q_b_proj.weight", [0xFF] },                  // e4m3 -NaN code
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void A_non_finite_weight_is_named_when_the_model_loads(string format, string tensor, byte[] value)
    {
        string folder = temp.CopyOf(format == "bf16" ? CheckpointTestFiles.TinyBf16 : CheckpointTestFiles.TinyFp8Yarn);
        long offset;
        string shard;
        using (Checkpoint checkpoint = Checkpoint.Open(folder))
        {
            TensorInfo info = checkpoint.GetInfo(tensor);
            offset = info.DataOffset + (info.ByteLength / 2 / value.Length * value.Length); // an element in the middle
            shard = info.FilePath;
        }
        using (var file = new FileStream(shard, FileMode.Open, FileAccess.Write))
        {
            file.Position = offset;
            file.Write(value);
        }

        var error = Assert.ThrowsAny<CheckpointException>(() => DeepSeekModel.Load(folder, new ModelLoadOptions { Device = "cpu" }).Dispose());
        Assert.Contains($"tensor '{tensor}' holds NaN or infinity at element [", error.Message);
    }

    [Fact]
    public void Nan_logits_stop_generation_with_an_error_naming_the_position()
    {
        var session = new NanAfter(new ScriptedLogitsSession(vocabSize: 50, maxContext: 64), nanFromLength: 6);
        var error = Assert.Throws<UserInputException>(() =>
            TextGenerator.Generate(session, [1, 2, 3], new GenerationRequest(20, SamplingOptions.Greedy), t => t.ToString()));
        Assert.Contains("non-finite logit", error.Message);
        Assert.Contains("at position 6", error.Message);
    }

    [Fact]
    public void Null_metadata_is_read_as_no_metadata_like_the_reference_reader()
    {
        string path = temp.File("null-metadata.safetensors");
        File.WriteAllBytes(path, CheckpointTestFiles.RawFile(
            "{\"__metadata__\":null,\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]));
        using SafeTensorsFile file = SafeTensorsFile.Open(path);
        Assert.Empty(file.Header.Metadata);
    }

    /// <summary>A session whose logits turn NaN once it holds <paramref name="nanFromLength"/> tokens.</summary>
    private sealed class NanAfter(ScriptedLogitsSession inner, int nanFromLength) : ILogitsSession
    {
        public int VocabSize => inner.VocabSize;

        public int MaxContext => inner.MaxContext;

        public int Length => inner.Length;

        public float[] PrefillLast(ReadOnlySpan<int> tokens) => Poison(inner.PrefillLast(tokens));

        public void Decode(int token, Span<float> logits)
        {
            inner.Decode(token, logits);
            Poison(logits);
        }

        public void Reset() => inner.Reset();

        private float[] Poison(float[] logits)
        {
            Poison(logits.AsSpan());
            return logits;
        }

        private void Poison(Span<float> logits)
        {
            if (inner.Length >= nanFromLength)
            {
                logits[7] = float.NaN;
            }
        }
    }
}
