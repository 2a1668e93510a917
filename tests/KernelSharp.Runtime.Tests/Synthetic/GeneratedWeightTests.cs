using System.Runtime.InteropServices;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Synthetic;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Kernels;
using KernelSharp.Runtime.Model.Synthetic;
using Xunit;

namespace KernelSharp.Runtime.Tests.Synthetic;

/// <summary>
/// A generated tensor's values are a function of (seed, name, element index) alone: the same bits whatever the chunk
/// size, the slice, or the device (host chunks against the kernels' fill into device memory), equal to the kernels'
/// reference and to create-model's values.
/// </summary>
public sealed class GeneratedWeightTests
{
    private static readonly CheckpointTensor Projection = new("model.layers.0.self_attn.kv_b_proj.weight", [300, 70], TensorRole.Projection);
    private static readonly CheckpointTensor Norm = new("model.layers.0.input_layernorm.weight", [70], TensorRole.NormWeight);

    private static byte[] Read(WeightBytes bytes, int chunkBytes)
    {
        var result = new byte[bytes.Length];
        var next = 0L;
        bytes.ReadChunks(chunkBytes, (chunk, offset) =>
        {
            Assert.Equal(next, offset);
            Assert.InRange(chunk.Length, 1, chunkBytes);
            chunk.CopyTo(result.AsSpan((int)offset));
            next = offset + chunk.Length;
        });
        Assert.Equal(bytes.Length, next);
        return result;
    }

    [Theory]
    [InlineData(TensorDType.BF16, false)]
    [InlineData(TensorDType.F8_E4M3, false)]
    [InlineData(TensorDType.BF16, true)]
    [InlineData(TensorDType.F8_E4M3, true)]
    [InlineData(TensorDType.F32, true)]
    public void Values_do_not_depend_on_the_chunk_size_or_the_slice(TensorDType storedAs, bool widened)
    {
        var tensor = SyntheticTensor.For(Projection, seed: 11, fp8Checkpoint: storedAs == TensorDType.F8_E4M3) with { StoredAs = storedAs };
        var whole = new GeneratedWeightBytes(tensor, 0, tensor.ElementCount, widened);

        var expected = Read(whole, int.MaxValue);
        foreach (var chunk in new[] { 1, 3, 4096, 65537 })
        {
            Assert.Equal(expected, Read(whole, chunk));
        }

        // Rows 100 .. 199 alone (a rank's share): the same elements as in the whole.
        var slice = new GeneratedWeightBytes(tensor, 100 * 70, 100 * 70, widened);
        Assert.Equal(expected.AsSpan(100 * 70 * whole.ElementSize, 100 * 70 * whole.ElementSize).ToArray(), Read(slice, 1000));
    }

    [Fact]
    public void Host_values_match_the_kernels_reference()
    {
        var tensor = SyntheticTensor.For(Projection, seed: 4, fp8Checkpoint: true);
        var count = (int)tensor.ElementCount;

        var codes = Read(new GeneratedWeightBytes(tensor, 0, count, widened: false), 1 << 20);
        Assert.Equal(SyntheticWeightsReference.Fp8(tensor.Key, 0, count), codes);

        var bf16 = tensor with { StoredAs = TensorDType.BF16 };
        var bits = MemoryMarshal.Cast<byte, ushort>(Read(new GeneratedWeightBytes(bf16, 0, count, widened: false), 1 << 20)).ToArray();
        Assert.Equal(SyntheticWeightsReference.Bf16(tensor.Key, 0, count, tensor.HalfWidth), bits);

        // Widened FP8 is the code times the one block scale: what the checkpoint loader's dequantization gives.
        var widened = MemoryMarshal.Cast<byte, float>(Read(new GeneratedWeightBytes(tensor, 0, count, widened: true), 1 << 20)).ToArray();
        Assert.Equal(codes.Select(c => Fp8E4M3.ToFloat(c) * tensor.Fp8Scale), widened);
    }

    [Fact]
    public void The_stream_is_the_one_create_model_writes()
    {
        foreach (var checkpointTensor in new[] { Projection, Norm })
        {
            var tensor = SyntheticTensor.For(checkpointTensor, seed: 9, fp8Checkpoint: false);
            var count = (int)tensor.ElementCount;
            var written = new float[count];
            RandomWeights.Fill(tensor.Key, 0, written, RandomWeights.Mean(checkpointTensor.Role), RandomWeights.StandardDeviation(checkpointTensor));

            var generated = MemoryMarshal.Cast<byte, ushort>(Read(new GeneratedWeightBytes(tensor, 0, count, widened: false), 1 << 20)).ToArray();
            Assert.Equal(written.Select(StorageFormats.FloatToBf16), generated);
        }
    }

    [Fact]
    public void The_values_follow_the_distribution_of_their_role()
    {
        var projection = SyntheticTensor.For(Projection, seed: 1, fp8Checkpoint: true);
        var values = MemoryMarshal.Cast<byte, float>(Read(new GeneratedWeightBytes(projection, 0, projection.ElementCount, widened: true), 1 << 20)).ToArray();
        var deviation = Math.Sqrt(values.Average(v => (double)v * v));
        Assert.InRange(deviation, 0.9 / Math.Sqrt(70), 1.1 / Math.Sqrt(70)); // 1/sqrt(fan_in)
        Assert.InRange(values.Average(), -0.01, 0.01);

        var norm = SyntheticTensor.For(Norm, seed: 1, fp8Checkpoint: true);
        var weights = MemoryMarshal.Cast<byte, float>(Read(new GeneratedWeightBytes(norm, 0, 70, widened: true), 1 << 20)).ToArray();
        Assert.All(weights, w => Assert.InRange(w, 0.9f, 1.1f)); // 1 ± 0.05·sqrt(3), in bf16
    }

    [Theory]
    [InlineData(KernelBackend.FastCpu)]
    [InlineData(KernelBackend.IlgpuCpu)]
    public void The_device_fill_gives_the_host_bits_in_pieces_and_at_an_offset(KernelBackend kind)
    {
        using var kernels = KernelModelBackend.Create(kind);
        var storage = kernels.Storage;
        var fp8 = SyntheticTensor.For(Projection, seed: 21, fp8Checkpoint: true);
        var bf16 = fp8 with { StoredAs = TensorDType.BF16 };

        // Two generated parts one after another (as stacked q_a / kv_a or an expert stack), the second a slice.
        var first = new GeneratedWeightBytes(bf16, 0, bf16.ElementCount, widened: false);
        var second = new GeneratedWeightBytes(bf16, 1234, 5000, widened: false);
        var stacked = storage.UploadWeight<ushort>(WeightBytes.Concat([first, second]));
        var expectedBits = MemoryMarshal.Cast<byte, ushort>([.. Read(first, 4096), .. Read(second, 4096)]).ToArray();
        Assert.Equal(expectedBits, storage.Download(stacked.View, expectedBits.Length));

        var codes = storage.UploadWeight<byte>(new GeneratedWeightBytes(fp8, 0, fp8.ElementCount, widened: false));
        Assert.Equal(Read(new GeneratedWeightBytes(fp8, 0, fp8.ElementCount, widened: false), 4096), storage.Download(codes.View, fp8.ElementCount));

        foreach (var storedAs in new[] { TensorDType.F32, TensorDType.BF16, TensorDType.F8_E4M3 })
        {
            var widened = new GeneratedWeightBytes(fp8 with { StoredAs = storedAs }, 77, 9000, widened: true);
            var values = storage.UploadWeight<float>(widened);
            Assert.Equal(MemoryMarshal.Cast<byte, float>(Read(widened, 4096)).ToArray(), storage.Download(values.View, 9000));
        }

        Assert.Equal(0, storage.UploadedChunks);
        Assert.Equal(first.Length + second.Length + fp8.ElementCount + (3 * 9000 * sizeof(float)), storage.GeneratedBytes);
    }
}
