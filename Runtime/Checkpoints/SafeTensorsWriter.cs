using System.Buffers.Binary;
using System.Text.Json;

namespace KernelSharp.Runtime;

/// <summary>A tensor to be written: its header entry. Its data follows in <see cref="SafeTensorsWriter"/> order.</summary>
public sealed record SafeTensorsEntry(string Name, TensorDType DType, long[] Shape)
{
    public long ByteLength => SafeTensorsHeader.ByteLengthOf(DType, Shape)
        ?? throw new ArgumentException($"tensor '{Name}' {TensorInfo.FormatShape(Shape)} is too large", nameof(Shape));
}

/// <summary>
/// Streams tensors into a safetensors file. The header is written first from the declared entries (offsets in declaration
/// order, padded with spaces so the data section starts at a multiple of 8 bytes, as the format allows); then the data
/// of each tensor is appended in the same order, in as many pieces as the caller likes, so no tensor needs to be held whole.
/// <see cref="Complete"/> checks that every byte arrived.
/// </summary>
public sealed class SafeTensorsWriter : IDisposable
{
    private readonly Stream stream;
    private readonly bool ownsStream;
    private readonly IReadOnlyList<SafeTensorsEntry> entries;
    private readonly long[] ends;        // [entries] end offset of each tensor in the data section
    private long written;                // bytes of the data section written so far
    private bool completed;

    public SafeTensorsWriter(string path, IReadOnlyList<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
        : this(CreateFile(path, entries, metadata), path, ownsStream: true, entries, metadata)
    {
    }

    /// <summary>
    /// Writes into <paramref name="destination"/> front to back, never seeking, so a pipe or a device works too;
    /// <paramref name="name"/> names it in errors. The stream is left open.
    /// </summary>
    public SafeTensorsWriter(Stream destination, string name, IReadOnlyList<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
        : this(destination, name, ownsStream: false, entries, metadata)
    {
    }

    private SafeTensorsWriter(Stream destination, string path, bool ownsStream, IReadOnlyList<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        Path = path;
        stream = destination;
        this.ownsStream = ownsStream;
        this.entries = entries;
        ends = new long[entries.Count];
        long offset = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++)
        {
            if (!names.Add(entries[i].Name) || entries[i].Name == SafeTensorsHeader.MetadataKey)
            {
                throw new ArgumentException($"tensor name '{entries[i].Name}' is repeated or reserved", nameof(entries));
            }

            offset = checked(offset + entries[i].ByteLength);
            ends[i] = offset;
        }

        byte[] header = BuildHeader(entries, metadata);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
    }

    public string Path { get; }

    // The entries are checked before the file exists, so a bad entry list leaves no empty file behind.
    private static FileStream CreateFile(string path, IReadOnlyList<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        _ = BuildHeader(entries, metadata);
        if (entries.Select(e => e.Name).Distinct(StringComparer.Ordinal).Count() != entries.Count || entries.Any(e => e.Name == SafeTensorsHeader.MetadataKey))
        {
            throw new ArgumentException("a tensor name is repeated or reserved", nameof(entries));
        }

        return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
    }

    /// <summary>Total bytes of the data section.</summary>
    public long DataLength => ends.Length == 0 ? 0 : ends[^1];

    /// <summary>The tensor the next appended byte belongs to; null once all data is written.</summary>
    public string? CurrentTensor
    {
        get
        {
            int index = Array.FindIndex(ends, end => end > written);
            return index < 0 ? null : entries[index].Name;
        }
    }

    /// <summary>Appends the next bytes of tensor data (they may span tensor boundaries).</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (written + data.Length > DataLength)
        {
            throw new InvalidOperationException($"{Path}: {written + data.Length} bytes of tensor data written, more than the {DataLength} declared");
        }

        stream.Write(data);
        written += data.Length;
    }

    /// <summary>Writes a whole tensor, which must be the next one declared.</summary>
    public void WriteTensor(string name, ReadOnlySpan<byte> data)
    {
        int index = Array.FindIndex(ends, end => end > written);
        if (index < 0)
        {
            throw new InvalidOperationException($"{Path}: all declared tensor data is written; got {data.Length} more bytes for '{name}'");
        }

        long begin = index == 0 ? 0 : ends[index - 1];
        SafeTensorsEntry next = entries[index];
        if (next.Name != name || begin != written || data.Length != next.ByteLength)
        {
            throw new InvalidOperationException($"{Path}: expected all {next.ByteLength} bytes of '{next.Name}' next, got {data.Length} bytes for '{name}'");
        }

        Append(data);
    }

    /// <summary>Flushes the file to disk after checking that every declared byte was written.</summary>
    public void Complete()
    {
        if (written != DataLength)
        {
            throw new InvalidOperationException($"{Path}: {written} of {DataLength} bytes of tensor data written; next tensor '{CurrentTensor}'");
        }

        if (stream is FileStream file)
        {
            file.Flush(flushToDisk: true);
        }
        else
        {
            stream.Flush();
        }

        completed = true;
    }

    public bool IsCompleted => completed;

    public void Dispose()
    {
        if (ownsStream)
        {
            stream.Dispose();
        }
    }

    /// <summary>The JSON header, padded with spaces to a multiple of 8 bytes.</summary>
    public static byte[] BuildHeader(IReadOnlyList<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafeTensorsHeader.MetadataKey);
                foreach ((string key, string value) in metadata.OrderBy(pair => pair.Key, StringComparer.Ordinal))
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (SafeTensorsEntry entry in entries)
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.DType.SafeTensorsName());
                json.WriteStartArray("shape");
                foreach (long dimension in entry.Shape)
                {
                    json.WriteNumberValue(dimension);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += entry.ByteLength;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        int padding = (int)((8 - (buffer.Length % 8)) % 8);
        for (int i = 0; i < padding; i++)
        {
            buffer.WriteByte((byte)' ');
        }

        return buffer.ToArray();
    }
}
