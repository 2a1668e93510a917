using System.Text.Json;
using System.Text.Unicode;

namespace KernelSharp.Runtime;

/// <summary>
/// The parsed and validated JSON header of one safetensors file. The format: an 8-byte little-endian header length N,
/// N bytes of UTF-8 JSON (an object: tensor name → {dtype, shape, data_offsets: [begin, end]} plus an optional
/// <c>__metadata__</c> string map), then the data section. Offsets are relative to the data section; the tensors must
/// cover it exactly, without overlaps or holes; each tensor's byte length must equal element size × product(shape).
/// Every violation is a <see cref="CheckpointException"/> naming the file (and tensor).
/// </summary>
public sealed class SafeTensorsHeader
{
    /// <summary>The largest header accepted (the reference implementation's limit): guards against absurd lengths.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    private SafeTensorsHeader(IReadOnlyList<TensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Tensors in header order.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>
    /// Validates <paramref name="headerJson"/> (the N bytes after the length prefix) of a file of <paramref name="fileLength"/> bytes.
    /// </summary>
    public static SafeTensorsHeader Parse(ReadOnlySpan<byte> headerJson, long fileLength, string filePath)
    {
        long dataStart = 8L + headerJson.Length;
        long dataLength = fileLength - dataStart;
        if (dataLength < 0)
        {
            throw Fail(filePath, $"header of {headerJson.Length} bytes runs past the end of the file ({fileLength} bytes)");
        }

        if (headerJson.Length == 0 || headerJson[0] != (byte)'{')
        {
            throw Fail(filePath, "the header does not start with '{'; expected a JSON object (is this a safetensors file?)");
        }

        if (!Utf8.IsValid(headerJson))
        {
            throw Fail(filePath, "the header is not valid UTF-8 text");
        }

        using JsonDocument document = ParseJson(headerJson, filePath);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw Fail(filePath, "the header is not a JSON object");
        }

        var tensors = new List<TensorInfo>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            ReadEntries(document.RootElement, tensors, metadata, dataStart, dataLength, filePath);
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json accepts an escaped lone surrogate ("\ud800") but cannot turn it into a .NET string.
            throw Fail(filePath, $"the header holds a string that is not valid text ({e.Message})", e);
        }

        CheckCoverage(tensors, dataStart, dataLength, filePath);
        return new SafeTensorsHeader(tensors, metadata);
    }

    private static void ReadEntries(JsonElement root, List<TensorInfo> tensors, Dictionary<string, string> metadata, long dataStart, long dataLength, string filePath)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                throw Fail(filePath, $"the header lists '{property.Name}' twice");
            }

            if (property.Name == MetadataKey)
            {
                ReadMetadata(property.Value, metadata, filePath);
                continue;
            }

            tensors.Add(ReadTensor(property.Name, property.Value, dataStart, dataLength, filePath));
        }
    }

    private static JsonDocument ParseJson(ReadOnlySpan<byte> headerJson, string filePath)
    {
        try
        {
            return JsonDocument.Parse(headerJson.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw Fail(filePath, $"the header is not valid JSON (byte {(e.BytePositionInLine ?? 0) + 1} of line {(e.LineNumber ?? 0) + 1}): {JsonErrorText.Reason(e)}", e);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string filePath)
    {
        // The reference reader (safetensors' Rust crate) reads the metadata as Option<HashMap>: null means none.
        if (value.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(filePath, $"'{MetadataKey}' must be an object of strings (or null)");
        }

        foreach (JsonProperty entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw Fail(filePath, $"'{MetadataKey}.{entry.Name}' must be a string");
            }

            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static TensorInfo ReadTensor(string name, JsonElement value, long dataStart, long dataLength, string filePath)
    {
        string where = $"tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(filePath, $"{where}: expected an object with dtype, shape and data_offsets");
        }

        if (!value.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Fail(filePath, $"{where}: 'dtype' is missing or not a string");
        }

        string dtypeName = dtypeElement.GetString()!;
        if (!TensorDTypes.TryParse(dtypeName, out TensorDType dtype))
        {
            throw Fail(filePath, $"unknown dtype {dtypeName} of tensor {name}; supported: F32, F16, BF16, F8_E4M3, I32, I64");
        }

        long[] shape = ReadNonNegativeIntegers(value, "shape", expectedCount: null, where, filePath);
        long[] offsets = ReadNonNegativeIntegers(value, "data_offsets", expectedCount: 2, where, filePath);
        long begin = offsets[0];
        long end = offsets[1];
        if (end < begin)
        {
            throw Fail(filePath, $"{where}: data_offsets [{begin}, {end}] end before they begin");
        }

        if (end > dataLength)
        {
            throw Fail(filePath, $"{where}: data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes); is the file truncated?");
        }

        long expectedBytes = ByteLengthOf(dtype, shape)
            ?? throw Fail(filePath, $"{where}: shape {TensorInfo.FormatShape(shape)} of {dtypeName} is too large (byte count overflows)");
        if (expectedBytes != end - begin)
        {
            throw Fail(filePath, $"{where}: {dtypeName} × shape {TensorInfo.FormatShape(shape)} needs {expectedBytes} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
        }

        return new TensorInfo(name, dtype, shape, filePath, dataStart + begin, end - begin);
    }

    /// <summary>Element size × product of the shape, or null on overflow.</summary>
    public static long? ByteLengthOf(TensorDType dtype, IReadOnlyList<long> shape)
    {
        try
        {
            long bytes = dtype.SizeInBytes();
            foreach (long dimension in shape)
            {
                bytes = checked(bytes * dimension);
            }

            return bytes;
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private static long[] ReadNonNegativeIntegers(JsonElement tensor, string key, int? expectedCount, string where, string filePath)
    {
        string expected = expectedCount is int count ? $"a list of {count} non-negative integers" : "a list of non-negative integers";
        if (!tensor.TryGetProperty(key, out JsonElement list) || list.ValueKind != JsonValueKind.Array)
        {
            throw Fail(filePath, $"{where}: '{key}' is missing or not {expected}");
        }

        if (expectedCount is int required && list.GetArrayLength() != required)
        {
            throw Fail(filePath, $"{where}: '{key}' has {list.GetArrayLength()} entries; expected {expected}");
        }

        var values = new long[list.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long number) || number < 0)
            {
                throw Fail(filePath, $"{where}: '{key}' contains {item.GetRawText()}; expected {expected}");
            }

            values[i++] = number;
        }

        return values;
    }

    /// <summary>Sorted by offset, the tensors must tile the data section exactly: no overlap, no hole, nothing after.</summary>
    private static void CheckCoverage(List<TensorInfo> tensors, long dataStart, long dataLength, string filePath)
    {
        var byOffset = tensors.OrderBy(t => t.DataOffset).ThenBy(t => t.ByteLength).ToList();
        long position = 0;
        TensorInfo? previous = null;
        foreach (TensorInfo tensor in byOffset)
        {
            long begin = tensor.DataOffset - dataStart;
            if (begin < position)
            {
                throw Fail(filePath, $"tensors '{previous!.Name}' and '{tensor.Name}' overlap (bytes [{begin}, {position}) of the data section)");
            }

            if (begin > position)
            {
                throw Fail(filePath, $"bytes [{position}, {begin}) of the data section belong to no tensor (hole before tensor '{tensor.Name}')");
            }

            position = begin + tensor.ByteLength;
            previous = tensor;
        }

        if (position != dataLength)
        {
            throw Fail(filePath, $"the data section is {dataLength} bytes but the tensors cover {position}; expected them to match exactly");
        }
    }

    internal static CheckpointException Fail(string filePath, string problem, Exception? inner = null) => new($"{filePath}: {problem}", inner);
}
