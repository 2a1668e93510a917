using System.Buffers.Binary;
using System.Text;
using KernelSharp.Runtime.Tests.Checkpoints;
using Xunit;

namespace KernelSharp.Runtime.Tests.Fuzzing;

/// <summary>
/// Mutated safetensors files (truncations, byte flips, edited headers and length prefixes) either open and read cleanly
/// or fail with a <see cref="UserInputException"/>; never another exception, a crash or a hang.
/// </summary>
public sealed class SafeTensorsFuzzTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    /// <summary>A small valid file of every dtype, with an FP8 weight and its scales, as the mutation seed.</summary>
    private static byte[] SeedFile()
    {
        var entries = new List<SafeTensorsEntry>
        {
            new("w", TensorDType.F8_E4M3, [3, 5]),
            new("w_scale_inv", TensorDType.F32, [1, 1]),
            new("b", TensorDType.BF16, [4]),
            new("h", TensorDType.F16, [2, 1]),
            new("i", TensorDType.I32, [2]),
            new("l", TensorDType.I64, [1]),
            new("e", TensorDType.F32, [0]),
        };
        byte[] header = SafeTensorsWriter.BuildHeader(entries, new Dictionary<string, string> { ["format"] = "pt" });
        long dataLength = entries.Sum(e => e.ByteLength);
        var file = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        new Random(1).NextBytes(file.AsSpan(8 + header.Length));
        return file;
    }

    /// <summary>Opens the bytes as a file and reads every tensor in every way a caller can.</summary>
    private bool OpenAndReadAll(byte[] bytes, string name)
    {
        string path = temp.File(name);
        File.WriteAllBytes(path, bytes);
        try
        {
            return FuzzBudget.AcceptsOrRejectsCleanly(() => ReadEverything(path), $"{name} ({bytes.Length} bytes)");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void ReadEverything(string path)
    {
        using Checkpoint checkpoint = Checkpoint.Open(path, new QuantizationConfig("fp8", "e4m3", 128, 128));
        foreach (string tensor in checkpoint.TensorNames)
        {
            TensorInfo info = checkpoint.GetInfo(tensor);
            _ = checkpoint.GetRawBytes(tensor).Length;
            try
            {
                _ = info.DType.IsFloatingPoint() ? checkpoint.ReadFloat32(tensor, info.Shape).Length : checkpoint.ReadInt32(tensor, info.Shape).Length;
            }
            catch (CheckpointException)
            {
                // e.g. an FP8 tensor whose scale a mutation removed: reported, then keep reading the others.
            }
        }
    }

    [Fact]
    public void Seed_file_is_valid()
    {
        string path = temp.File("seed.safetensors");
        File.WriteAllBytes(path, SeedFile());
        ReadEverything(path);
    }

    [Fact]
    public void Truncations()
    {
        byte[] seed = SeedFile();
        int runs = FuzzBudget.Run(101, 400, FuzzBudget.MaxTime, (random, i) =>
            OpenAndReadAll(seed[..random.Next(seed.Length)], $"truncated-{i}.safetensors"));
        Assert.True(runs >= 10, $"only {runs} iterations ran");
    }

    [Fact]
    public void Byte_flips_in_prefix_and_header()
    {
        byte[] seed = SeedFile();
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(seed);
        int accepted = 0;
        int runs = FuzzBudget.Run(202, 800, FuzzBudget.MaxTime, (random, i) =>
        {
            byte[] bytes = (byte[])seed.Clone();
            int flips = 1 + random.Next(4);
            for (int f = 0; f < flips; f++)
            {
                int at = random.Next(random.Next(4) == 0 ? bytes.Length : headerEnd);
                bytes[at] = random.Next(2) == 0 ? (byte)(bytes[at] ^ (1 << random.Next(8))) : (byte)random.Next(256);
            }

            accepted += OpenAndReadAll(bytes, $"flipped-{i}.safetensors") ? 1 : 0;
        });
        Assert.True(runs >= 10, $"only {runs} iterations ran");
        FuzzBudget.BothOutcomesSeen(accepted, runs);
    }

    [Fact]
    public void Edited_headers_with_a_consistent_length_prefix()
    {
        byte[] seed = SeedFile();
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(seed);
        string header = Encoding.UTF8.GetString(seed, 8, headerLength);
        byte[] data = seed[(8 + headerLength)..];
        int accepted = 0;
        string[] replacements = ["0", "-1", "1e3", "18446744073709551615", "9223372036854775807", "\"F32\"", "\"F64\"", "null", "[]", "{}", "[0,0]", "\"\"", "1.5", "true", "[[1]]", "\"__metadata__\""];
        int runs = FuzzBudget.Run(303, 800, FuzzBudget.MaxTime, (random, i) =>
        {
            string edited = MutateJsonText(header, random, replacements);
            byte[] bytes = random.Next(8) == 0 ? Encoding.UTF8.GetBytes(edited) : CheckpointTestFiles.RawFile(edited, data);
            if (random.Next(6) == 0)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)random.NextInt64());
            }

            accepted += OpenAndReadAll(bytes, $"edited-{i}.safetensors") ? 1 : 0;
        });
        Assert.True(runs >= 10, $"only {runs} iterations ran");
        FuzzBudget.BothOutcomesSeen(accepted, runs);
    }

    [Fact]
    public void Header_parser_in_memory_on_random_json_like_text()
    {
        // No file I/O: many more inputs per second straight into the header parser.
        string[] pieces = ["{", "}", "[", "]", ",", ":", "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"BF16\"", "\"F8_E4M3\"", "\"a\"", "\"__metadata__\"", "0", "8", "-3", "1e400", "null", " ", "\"\\u0000\"", "\"\\ud800\""];
        int runs = FuzzBudget.Run(404, 20_000, FuzzBudget.MaxTime, (random, i) =>
        {
            var text = new StringBuilder("{");
            int count = random.Next(30);
            for (int p = 0; p < count; p++)
            {
                text.Append(pieces[random.Next(pieces.Length)]);
            }

            byte[] header = Encoding.UTF8.GetBytes(text.ToString());
            long fileLength = 8 + header.Length + random.Next(64);
            FuzzBudget.AcceptsOrRejectsCleanly(() => SafeTensorsHeader.Parse(header, fileLength, "fuzz.safetensors"), text.ToString());
        });
        Assert.True(runs >= 10, $"only {runs} iterations ran");
    }

    [Fact]
    public void Mutated_shard_index()
    {
        string folder = temp.CopyOf(CheckpointTestFiles.TinyFp8Yarn);
        string indexPath = Path.Combine(folder, ShardIndex.FileName);
        string index = File.ReadAllText(indexPath);
        string[] replacements = ["\"model-00001-of-00002.safetensors\"", "\"model-00003-of-00002.safetensors\"", "\"../model.safetensors\"", "1", "null", "{}", "[]", "\"\"", "\"\\ud800\""];
        int runs = FuzzBudget.Run(505, 60, FuzzBudget.MaxTime, (random, i) =>
        {
            File.WriteAllText(indexPath, MutateJsonText(index, random, replacements));
            FuzzBudget.AcceptsOrRejectsCleanly(() => Checkpoint.Open(folder).Dispose(), $"index mutation {i}");
        });
        Assert.True(runs >= 10, $"only {runs} iterations ran");
    }

    /// <summary>Replaces, deletes or duplicates a random token-sized span of JSON text.</summary>
    internal static string MutateJsonText(string json, Random random, string[] replacements)
    {
        int start = random.Next(json.Length);
        int length = Math.Min(json.Length - start, random.Next(1, 12));
        return random.Next(4) switch
        {
            0 => json.Remove(start, length),
            1 => json.Insert(start, json.Substring(start, length)),
            2 => json.Remove(start, length).Insert(start, replacements[random.Next(replacements.Length)]),
            _ => ReplaceValue(json, random, replacements),
        };
    }

    // Swaps a whole number or string literal for another value, which keeps the JSON well-formed more often.
    private static string ReplaceValue(string json, Random random, string[] replacements)
    {
        int at = random.Next(json.Length);
        int start = json.IndexOfAny(['"', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], at);
        if (start < 0)
        {
            return json;
        }

        int end = start + 1;
        if (json[start] == '"')
        {
            end = json.IndexOf('"', start + 1) + 1;
            if (end <= 0)
            {
                return json;
            }
        }
        else
        {
            while (end < json.Length && char.IsAsciiDigit(json[end]))
            {
                end++;
            }
        }

        return json[..start] + replacements[random.Next(replacements.Length)] + json[end..];
    }
}
