using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace KernelSharp.Runtime.Tests.Checkpoints;

/// <summary>Each rule of the safetensors format, broken on purpose in a hand-made file, gives a one-line error naming the file.</summary>
public sealed class SafeTensorsValidationTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    private string WriteFile(byte[] bytes, string name = "model.safetensors")
    {
        string path = temp.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private CheckpointException OpenFails(byte[] bytes)
    {
        string path = WriteFile(bytes);
        var error = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Contains(path, error.Message);
        Assert.DoesNotContain("\n", error.Message);
        return error;
    }

    private static byte[] Bytes(int count) => Enumerable.Range(0, count).Select(i => (byte)i).ToArray();

    [Fact]
    public void Valid_hand_made_file_opens_with_metadata_and_zero_sized_tensor()
    {
        string header = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"empty\":{\"dtype\":\"BF16\",\"shape\":[0,4],\"data_offsets\":[8,8]},\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}}";
        byte[] data = new byte[16];
        BinaryPrimitives.WriteSingleLittleEndian(data, 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -2f);
        string path = WriteFile(CheckpointTestFiles.RawFile(header, data));
        using SafeTensorsFile file = SafeTensorsFile.Open(path);
        Assert.Equal("pt", file.Header.Metadata["format"]);
        Assert.Equal(3, file.TensorNames.Count);
        Assert.Equal(0, file.GetInfo("empty").ByteLength);
        Assert.Empty(file.GetRawBytes(file.GetInfo("empty")).ToArray());
        using Checkpoint checkpoint = Checkpoint.Open(path);
        Assert.Equal([1.5f, -2f], checkpoint.ReadFloat32("a", 2));
        Assert.Empty(checkpoint.ReadFloat32("empty", 0, 4));
    }

    [Fact]
    public void File_of_only_empty_tensors_has_an_empty_data_section()
    {
        string path = WriteFile(CheckpointTestFiles.RawFile("{\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", []));
        using Checkpoint checkpoint = Checkpoint.Open(path);
        Assert.Empty(checkpoint.ReadFloat32("e"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void File_shorter_than_the_length_prefix(int length)
    {
        CheckpointException error = OpenFails(new byte[length]);
        Assert.Contains("8-byte header length", error.Message);
    }

    [Fact]
    public void Header_length_over_the_limit()
    {
        byte[] bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        Assert.Contains("limit", OpenFails(bytes).Message);
    }

    [Fact]
    public void Header_length_past_the_end_of_the_file()
    {
        byte[] bytes = CheckpointTestFiles.RawFile("{}", []);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        Assert.Contains("runs past the end of the file", OpenFails(bytes).Message);
    }

    [Theory]
    [InlineData("{\"a\": ", "not valid JSON")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} trailing", "not valid JSON")]
    [InlineData("[1,2]", "does not start with '{'")]
    [InlineData("    {}", "does not start with '{'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "twice")]
    [InlineData("{\"__metadata__\":{\"format\":1}}", "must be a string")]
    [InlineData("{\"__metadata__\":[]}", "must be an object")]
    [InlineData("{\"a\":[]}", "tensor 'a': expected an object")]
    [InlineData("{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "not valid text")]
    [InlineData("{\"a\":{\"dtype\":\"\\udc00\",\"shape\":[2],\"data_offsets\":[0,8]}}", "not valid text")]
    [InlineData("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "'dtype' is missing")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "'shape' is missing")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", "'data_offsets' is missing")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "non-negative")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "non-negative")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", "3 entries")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", "end before they begin")]
    public void Malformed_header(string header, string expected)
    {
        Assert.Contains(expected, OpenFails(CheckpointTestFiles.RawFile(header, new byte[8])).Message);
    }

    [Fact]
    public void Header_that_is_not_utf8()
    {
        byte[] bytes = CheckpointTestFiles.RawFile("{\"ab\":{}}", []);
        bytes[11] = 0xFF; // inside the name "ab"
        Assert.Contains("UTF-8", OpenFails(bytes).Message);
    }

    [Fact]
    public void Unknown_dtype_names_dtype_tensor_and_file()
    {
        CheckpointException error = OpenFails(CheckpointTestFiles.RawFile("{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]));
        Assert.Contains("unknown dtype F64 of tensor w", error.Message);
    }

    [Fact]
    public void Dtype_times_shape_not_matching_the_offsets()
    {
        CheckpointException error = OpenFails(CheckpointTestFiles.RawFile("{\"w\":{\"dtype\":\"BF16\",\"shape\":[3,2],\"data_offsets\":[0,8]}}", new byte[8]));
        Assert.Contains("tensor 'w'", error.Message);
        Assert.Contains("needs 12 bytes", error.Message);
    }

    [Fact]
    public void Shape_whose_byte_count_overflows()
    {
        string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}";
        Assert.Contains("overflows", OpenFails(CheckpointTestFiles.RawFile(header, new byte[8])).Message);
    }

    [Fact]
    public void Offsets_beyond_the_data_section()
    {
        CheckpointException error = OpenFails(CheckpointTestFiles.RawFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]));
        Assert.Contains("past the end of the data section", error.Message);
    }

    [Fact]
    public void Overlapping_tensors_are_both_named()
    {
        string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        CheckpointException error = OpenFails(CheckpointTestFiles.RawFile(header, new byte[12]));
        Assert.Contains("'a' and 'b' overlap", error.Message);
    }

    [Fact]
    public void Hole_between_tensors()
    {
        string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        Assert.Contains("belong to no tensor", OpenFails(CheckpointTestFiles.RawFile(header, new byte[12])).Message);
    }

    [Fact]
    public void Extra_bytes_after_the_last_tensor()
    {
        CheckpointException error = OpenFails(CheckpointTestFiles.RawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[9]));
        Assert.Contains("data section is 9 bytes but the tensors cover 4", error.Message);
    }

    [Fact]
    public void Truncated_fixture_shard_is_reported_with_its_tensor()
    {
        string folder = temp.CopyOf(CheckpointTestFiles.TinyFp8Yarn);
        string shard = Path.Combine(folder, "model-00002-of-00002.safetensors");
        byte[] bytes = File.ReadAllBytes(shard);
        File.WriteAllBytes(shard, bytes[..(bytes.Length - 1000)]);
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(folder).Dispose());
        Assert.Contains(shard, error.Message);
        Assert.Contains("truncated", error.Message);
        Assert.Contains("tensor '", error.Message);
    }

    [Fact]
    public void Missing_or_empty_folder()
    {
        string missing = temp.File("nope");
        Assert.Contains("not found", Assert.Throws<CheckpointException>(() => Checkpoint.Open(missing)).Message);
        string empty = temp.File("empty");
        Directory.CreateDirectory(empty);
        CheckpointException error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(empty));
        Assert.Contains(empty, error.Message);
        Assert.Contains("neither model.safetensors nor model.safetensors.index.json", error.Message);
    }

    [Fact]
    public void Missing_shard_names_the_shard_and_a_tensor_mapped_to_it()
    {
        string folder = temp.CopyOf(CheckpointTestFiles.TinyFp8Yarn);
        File.Delete(Path.Combine(folder, "model-00002-of-00002.safetensors"));
        CheckpointException error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(folder));
        Assert.Contains("model-00002-of-00002.safetensors: shard missing", error.Message);
        Assert.Contains("maps tensor 'model.", error.Message);
    }

    [Fact]
    public void Tensor_listed_in_the_index_but_absent_from_its_shard()
    {
        string folder = temp.CopyOf(CheckpointTestFiles.TinyFp8Yarn);
        string index = Path.Combine(folder, ShardIndex.FileName);
        string text = File.ReadAllText(index).Replace("\"weight_map\": {", "\"weight_map\": {\n    \"model.layers.7.ghost.weight\": \"model-00001-of-00002.safetensors\",", StringComparison.Ordinal);
        File.WriteAllText(index, text);
        CheckpointException error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(folder));
        Assert.Contains("model-00001-of-00002.safetensors: has no tensor 'model.layers.7.ghost.weight'", error.Message);
        Assert.Contains(ShardIndex.FileName, error.Message);
    }

    [Theory]
    [InlineData("{\"weight_map\": {\"a\": \"../outside.safetensors\"}}", "inside the checkpoint folder")]
    [InlineData("{\"weight_map\": {\"a\": \"/etc/passwd\"}}", "inside the checkpoint folder")]
    [InlineData("{\"weight_map\": {\"a\": 3}}", "must be a shard file name")]
    [InlineData("{\"weight_map\": {}}", "empty")]
    [InlineData("{\"metadata\": {}}", "'weight_map' object")]
    [InlineData("{\"weight_map\": {\"a\": \"x\"", "not valid JSON")]
    public void Broken_index(string indexJson, string expected)
    {
        string folder = temp.File("indexed");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ShardIndex.FileName), indexJson);
        CheckpointException error = Assert.Throws<CheckpointException>(() => Checkpoint.Open(folder));
        Assert.Contains(ShardIndex.FileName, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Fp8_weight_without_its_scale_or_with_a_wrong_scale_shape()
    {
        string header = "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[200,130],\"data_offsets\":[0,26000]}}";
        string path = WriteFile(CheckpointTestFiles.RawFile(header, new byte[26000]));
        using (Checkpoint checkpoint = Checkpoint.Open(path))
        {
            CheckpointException error = Assert.Throws<CheckpointException>(() => checkpoint.ReadFloat32("w"));
            Assert.Contains("'w_scale_inv'", error.Message);
            Assert.Contains("[2, 2]", error.Message);
        }

        header = "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[200,130],\"data_offsets\":[0,26000]},\"w_scale_inv\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[26000,26008]}}";
        path = WriteFile(CheckpointTestFiles.RawFile(header, new byte[26008]), "scaled.safetensors");
        using (Checkpoint checkpoint = Checkpoint.Open(path))
        {
            CheckpointException error = Assert.Throws<CheckpointException>(() => checkpoint.ReadFloat32("w"));
            Assert.Contains("expected F32 [2, 2]", error.Message);
        }
    }

    [Fact]
    public void Fp8_block_scale_that_is_not_finite_is_reported_with_its_block()
    {
        byte[] data = new byte[4 + (2 * 4)];
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), 1f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(8), float.NaN);
        string header = "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1,4],\"data_offsets\":[0,4]},\"w_scale_inv\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[4,12]}}";
        using Checkpoint checkpoint = Checkpoint.Open(WriteFile(CheckpointTestFiles.RawFile(header, data)), new QuantizationConfig("fp8", "e4m3", 2, 2));
        CheckpointException error = Assert.Throws<CheckpointException>(() => checkpoint.ReadFloat32("w"));
        Assert.Contains("'w_scale_inv' holds NaN at block [0, 1]", error.Message);
    }

    [Fact]
    public void Fp8_dequantization_uses_the_scale_of_each_partial_block()
    {
        // w [3, 5] with 2×2 blocks → scales [2, 3]; code 0x38 is 1.0, so each element equals its block's scale.
        const int rows = 3, cols = 5;
        byte[] data = new byte[(rows * cols) + (6 * 4)];
        Array.Fill(data, (byte)0x38, 0, rows * cols);
        float[] scales = [1, 2, 3, 4, 5, 6];
        for (int i = 0; i < scales.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan((rows * cols) + (i * 4)), scales[i]);
        }

        string header = "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[3,5],\"data_offsets\":[0,15]},\"w_scale_inv\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[15,39]}}";
        string path = WriteFile(CheckpointTestFiles.RawFile(header, data));
        using Checkpoint checkpoint = Checkpoint.Open(path, new QuantizationConfig("fp8", "e4m3", 2, 2));
        float[] values = checkpoint.ReadFloat32("w", rows, cols);
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                Assert.Equal(scales[((r / 2) * 3) + (c / 2)], values[(r * cols) + c]);
            }
        }
    }

    [Fact]
    public void F16_and_unaligned_f32_convert_exactly()
    {
        // A 2-byte F16 tensor first puts the F32 tensor at an odd-of-4 offset.
        byte[] data = new byte[2 + 8];
        BinaryPrimitives.WriteHalfLittleEndian(data, (Half)(-0.375f));
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(2), 3.25f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(6), float.Epsilon);
        string header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[2,10]}}";
        using Checkpoint checkpoint = Checkpoint.Open(WriteFile(CheckpointTestFiles.RawFile(header, data)));
        Assert.Equal([-0.375f], checkpoint.ReadFloat32("h"));
        Assert.Equal([3.25f, float.Epsilon], checkpoint.ReadFloat32("f", 2));
    }

    [Fact]
    public void Large_tensor_converts_in_parallel_to_the_same_values()
    {
        const int count = (1 << 21) + 3; // above the parallel threshold, not a multiple of the work item
        byte[] data = new byte[count * 2];
        var random = new Random(7);
        random.NextBytes(data);
        for (int i = 0; i < count; i++)
        {
            data[(i * 2) + 1] &= 0x7F - 0x40; // keep exponents small: no NaN/Inf patterns to compare
        }

        string header = $"{{\"x\":{{\"dtype\":\"BF16\",\"shape\":[{count}],\"data_offsets\":[0,{count * 2}]}}}}";
        using Checkpoint checkpoint = Checkpoint.Open(WriteFile(CheckpointTestFiles.RawFile(header, data)));
        float[] values = checkpoint.ReadFloat32("x", count);
        for (int i = 0; i < count; i += 9973)
        {
            Assert.Equal(StorageFormats.Bf16ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(i * 2))), values[i]);
        }

        Assert.Equal(StorageFormats.Bf16ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan((count - 1) * 2))), values[^1]);
    }

    [Fact]
    public void Non_safetensors_bytes_of_another_format()
    {
        byte[] text = Encoding.UTF8.GetBytes("PK\u0003\u0004 this is a zip file, not safetensors at all");
        Assert.Contains("limit", OpenFails(text).Message);
    }
}
