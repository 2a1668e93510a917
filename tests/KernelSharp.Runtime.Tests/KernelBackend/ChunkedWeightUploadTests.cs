using System.Runtime.InteropServices;
using KernelSharp.Dsl.Launch;
using KernelSharp.Kernels.Formats;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Model.Kernels;
using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// Weights stream from the memory-mapped checkpoint to the device in chunks of at most the storage's chunk size (no
/// host array per tensor or per expert stack): a chunk size far below the tensor sizes, and not a divisor of any of
/// them, must still put every byte of every tensor in its place on the device.
/// </summary>
public sealed class ChunkedWeightUploadTests : IDisposable
{
    private const int ChunkBytes = 997; // prime: chunks straddle rows, scale blocks and expert boundaries
    private const int Experts = 3, Inner = 200, Hidden = 300;

    private readonly string directory = Directory.CreateTempSubdirectory("ks-chunked-").FullName;
    private readonly Dictionary<string, byte[]> stored = [];

    public ChunkedWeightUploadTests()
    {
        var random = new Random(14);
        var entries = new List<(SafeTensorsEntry Entry, byte[] Data)>();
        void Add(string name, TensorDType dtype, long[] shape, byte[] data)
        {
            entries.Add((new SafeTensorsEntry(name, dtype, shape), data));
            stored[name] = data;
        }

        byte[] RandomBytes(long count)
        {
            var bytes = new byte[count];
            random.NextBytes(bytes);
            // Finite values only: the loader refuses NaN/infinity. Clearing bit 6 of every byte keeps each e4m3 code off
            // S.1111.111 (NaN) and each bf16 exponent below all-ones; the bytes stay random otherwise.
            for (int i = 0; i < bytes.Length; i++)
            {
                bytes[i] &= 0xBF;
            }
            return bytes;
        }

        byte[] Scales(int count) => MemoryMarshal.AsBytes(Enumerable.Range(0, count).Select(i => 1f / (100 + i)).ToArray().AsSpan()).ToArray();

        foreach (var (projection, rows, columns) in new[] { ("gate_proj", Inner, Hidden), ("up_proj", Inner, Hidden), ("down_proj", Hidden, Inner) })
        {
            for (var e = 0; e < Experts; e++)
            {
                var name = $"experts.{e}.{projection}.weight";
                Add(name, TensorDType.F8_E4M3, [rows, columns], RandomBytes((long)rows * columns));
                int scaleRows = (rows + 127) / 128, scaleColumns = (columns + 127) / 128;
                Add(name + "_scale_inv", TensorDType.F32, [scaleRows, scaleColumns], Scales(scaleRows * scaleColumns));
            }
        }

        Add("q_a.weight", TensorDType.BF16, [130, 70], RandomBytes(130 * 70 * 2));
        Add("kv_a.weight", TensorDType.BF16, [61, 70], RandomBytes(61 * 70 * 2));

        using var writer = new SafeTensorsWriter(Path.Combine(directory, Checkpoint.SingleFileName), entries.Select(e => e.Entry).ToList());
        foreach (var (entry, data) in entries)
        {
            writer.WriteTensor(entry.Name, data);
        }

        writer.Complete();
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Theory]
    [InlineData(KernelBackend.FastCpu)]
    [InlineData(KernelBackend.IlgpuCpu)]
    public void Expert_stacks_and_stacked_rows_arrive_byte_for_byte_in_bounded_chunks(KernelBackend kind)
    {
        using var kernels = KernelModelBackend.Create(kind);
        kernels.Storage.UploadChunkBytes = ChunkBytes;
        kernels.Storage.ReadsWeightsInPlace = false; // the copy a GPU makes, here on the host (FastCpu reads in place by default: below)
        using var checkpoint = Checkpoint.Open(directory);
        var loader = new WeightLoader(new CheckpointWeightSource(checkpoint), kernels, 1, null);

        var experts = loader.Experts("experts", Experts, Hidden, Inner);
        var stack = Assert.IsType<KernelWeight<Fp8BlockRows>>(experts[0].Gate).Stack!;
        Assert.True(stack.Holds(experts));
        foreach (var (projection, stacked) in new[] { ("gate_proj", stack.Gate), ("up_proj", stack.Up), ("down_proj", stack.Down) })
        {
            var weight = Assert.IsType<KernelWeight<Fp8BlockRows>>(stacked).Weights;
            var expected = Enumerable.Range(0, Experts).SelectMany(e => stored[$"experts.{e}.{projection}.weight"]).ToArray();
            Assert.Equal(expected, kernels.Storage.Download(weight.Codes, expected.Length));
            var expectedScales = Enumerable.Range(0, Experts).SelectMany(e => MemoryMarshal.Cast<byte, float>(stored[$"experts.{e}.{projection}.weight_scale_inv"]).ToArray()).ToArray();
            Assert.Equal(expectedScales, kernels.Storage.Download(weight.ScaleInv, expectedScales.Length));
        }

        // Two bf16 parts fused by rows, as q_a and kv_a are: the parts' bytes one after the other.
        var fused = Assert.IsType<KernelWeight<Bf16Rows>>(loader.TryStackedNative([("q_a.weight", 130), ("kv_a.weight", 61)], 70));
        Assert.Equal(191, fused.Rows);
        var expectedBits = MemoryMarshal.Cast<byte, ushort>(stored["q_a.weight"].Concat(stored["kv_a.weight"]).ToArray()).ToArray();
        Assert.Equal(expectedBits, kernels.Storage.Download(fused.Weights.Bits, expectedBits.Length));

        // Every weight byte came in chunks no larger than the setting: 3 · 3 experts of 60000 bytes and 36660 fused bytes.
        long expectedChunks = 9 * ((Inner * Hidden + ChunkBytes - 1) / ChunkBytes) + (130 * 70 * 2 + ChunkBytes - 1) / ChunkBytes + (61 * 70 * 2 + ChunkBytes - 1) / ChunkBytes;
        Assert.Equal(ChunkBytes, kernels.Storage.LargestUploadedChunk);
        Assert.Equal(expectedChunks, kernels.Storage.UploadedChunks);
    }

    [Fact]
    public void The_generated_cpu_path_reads_weights_where_they_are_mapped_and_keeps_them_after_the_checkpoint_closes()
    {
        using var kernels = KernelModelBackend.Create(KernelBackend.FastCpu);
        Assert.True(kernels.Storage.ReadsWeightsInPlace);
        Assert.True(kernels.GathersNativeRows);
        IReadOnlyList<FeedForwardWeights> experts;
        KernelWeight fused, reversed;
        using (var checkpoint = Checkpoint.Open(directory))
        {
            var loader = new WeightLoader(new CheckpointWeightSource(checkpoint), kernels, 1, null);
            experts = loader.Experts("experts", Experts, Hidden, Inner);
            fused = Assert.IsAssignableFrom<KernelWeight>(loader.TryStackedNative([("q_a.weight", 130), ("kv_a.weight", 61)], 70));
            // Stored the other way round, the parts are not one range of the file: copied, as before.
            reversed = Assert.IsAssignableFrom<KernelWeight>(loader.TryStackedNative([("kv_a.weight", 61), ("q_a.weight", 130)], 70));
        }

        // The checkpoint is closed: every view still reads the file's bytes (the weights hold the mapping).
        foreach (var (projection, index) in new[] { ("gate_proj", 0), ("up_proj", 1), ("down_proj", 2) })
        {
            for (var e = 0; e < Experts; e++)
            {
                var matrix = new[] { experts[e].Gate, experts[e].Up, experts[e].Down }[index];
                var weight = Assert.IsType<KernelWeight<Fp8BlockRows>>(matrix);
                Assert.Null(weight.Stack); // no stack: it would be a copy of every expert
                var expected = stored[$"experts.{e}.{projection}.weight"];
                Assert.Equal(expected, kernels.Storage.Download(weight.Weights.Codes, expected.Length));
            }
        }

        var expectedBits = MemoryMarshal.Cast<byte, ushort>(stored["q_a.weight"].Concat(stored["kv_a.weight"]).ToArray()).ToArray();
        Assert.Equal(expectedBits, kernels.Storage.Download(Assert.IsType<KernelWeight<Bf16Rows>>(fused).Weights.Bits, expectedBits.Length));
        var reversedBits = MemoryMarshal.Cast<byte, ushort>(stored["kv_a.weight"].Concat(stored["q_a.weight"]).ToArray()).ToArray();
        Assert.Equal(reversedBits, kernels.Storage.Download(Assert.IsType<KernelWeight<Bf16Rows>>(reversed).Weights.Bits, reversedBits.Length));

        // Only the reversed pair was copied; the experts and the stored-order pair were read in place.
        Assert.Equal(9L * Inner * Hidden + 191 * 70 * 2, kernels.Storage.InPlaceBytes);
        Assert.True(kernels.Storage.UploadedChunks > 0);
        Assert.Equal(130 * 70 * 2, kernels.Storage.LargestUploadedChunk); // q_a, the larger part (a chunk never spans two parts)

        // Each weight releases its lease on the mapping; the last one unmaps the file.
        foreach (var weight in experts.SelectMany(f => new[] { f.Gate, f.Up, f.Down }).Concat([fused, reversed]))
        {
            weight.Dispose();
        }
    }

    [Fact]
    public void Weight_bytes_read_in_order_across_parts_and_widen_for_the_cpu_backend()
    {
        ushort[] first = [1, 2, 3], second = [40000, 5];
        var bytes = WeightBytes.Concat([WeightBytes.FromArray(first), WeightBytes.FromArray(second)]);
        Assert.Equal(10, bytes.Length);
        var seen = new List<(int Length, long Offset)>();
        bytes.ReadChunks(4, (chunk, offset) => seen.Add((chunk.Length, offset)));
        Assert.Equal([(4, 0L), (2, 4L), (4, 6L)], seen); // chunks never cross a part: each is one span of memory
        Assert.Equal([1, 2, 3, 40000, 5], bytes.ToArray<ushort>());
        Assert.Throws<ArgumentException>(() => WeightBytes.FromArray(new string[1]));
    }
}
