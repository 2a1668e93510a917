using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Xunit;

namespace KernelSharp.Runtime.Tests.Checkpoints;

/// <summary>Files written piece by piece follow the format (aligned, space-padded header) and read back byte for byte.</summary>
public sealed class SafeTensorsWriterTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Streamed_tensors_read_back_exactly_with_an_aligned_padded_header()
    {
        var random = new Random(3);
        float[] a = Enumerable.Range(0, 7 * 3).Select(_ => (float)random.NextDouble()).ToArray();
        ushort[] b = Enumerable.Range(0, 5).Select(_ => (ushort)random.Next(0x3000, 0x4000)).ToArray();
        var entries = new List<SafeTensorsEntry> { new("a", TensorDType.F32, [7, 3]), new("b.weight", TensorDType.BF16, [5]), new("c", TensorDType.I64, [0]) };
        string path = temp.File("x.safetensors");
        using (var writer = new SafeTensorsWriter(path, entries, new Dictionary<string, string> { ["format"] = "pt" }))
        {
            Assert.Equal("a", writer.CurrentTensor);
            byte[] aBytes = MemoryMarshal.AsBytes(a.AsSpan()).ToArray();
            writer.Append(aBytes.AsSpan(0, 10)); // pieces need not follow element boundaries
            writer.Append(aBytes.AsSpan(10));
            Assert.Equal("b.weight", writer.CurrentTensor);
            writer.WriteTensor("b.weight", MemoryMarshal.AsBytes(b.AsSpan()));
            Assert.Null(writer.CurrentTensor);
            writer.Complete();
        }

        byte[] file = File.ReadAllBytes(path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0UL, (8 + headerLength) % 8);
        Assert.Equal((byte)'}', file[8 + (int)headerLength - 1 - System.Text.Encoding.ASCII.GetString(file, 8, (int)headerLength).Reverse().TakeWhile(c => c == ' ').Count()]);

        using Checkpoint checkpoint = Checkpoint.Open(path);
        Assert.Equal(a, checkpoint.ReadFloat32("a", 7, 3));
        Assert.Equal(b.Select(StorageFormats.Bf16ToFloat), checkpoint.ReadFloat32("b.weight", 5));
        Assert.Equal(0, checkpoint.GetInfo("c").ByteLength);
    }

    [Fact]
    public void Incomplete_or_excess_data_is_a_programming_error()
    {
        var entries = new List<SafeTensorsEntry> { new("a", TensorDType.F32, [2]) };
        using (var writer = new SafeTensorsWriter(temp.File("short.safetensors"), entries))
        {
            writer.Append(new byte[4]);
            Assert.Throws<InvalidOperationException>(writer.Complete);
            Assert.Throws<InvalidOperationException>(() => writer.Append(new byte[5]));
            Assert.Throws<InvalidOperationException>(() => writer.WriteTensor("a", new byte[8]));
        }

        Assert.Throws<ArgumentException>(() => new SafeTensorsWriter(temp.File("dup.safetensors"), [new("a", TensorDType.F32, [1]), new("a", TensorDType.F32, [1])]));
        Assert.Throws<ArgumentException>(() => new SafeTensorsWriter(temp.File("meta.safetensors"), [new("__metadata__", TensorDType.F32, [1])]));
    }

    [Fact]
    public void Never_overwrites_an_existing_file()
    {
        string path = temp.File("exists.safetensors");
        File.WriteAllText(path, "keep");
        Assert.Throws<IOException>(() => new SafeTensorsWriter(path, [new("a", TensorDType.F32, [1])]));
        Assert.Equal("keep", File.ReadAllText(path));
    }
}
