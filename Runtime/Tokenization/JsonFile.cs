using System.Globalization;
using System.Text.Json;

namespace KernelSharp.Runtime.Tokenization;

/// <summary>
/// Reads one JSON file and checks fields with errors that name the file and the field path
/// (<c>model.merges[12]</c>) and say what was expected — the one-line messages a user sees.
/// </summary>
internal sealed class JsonFile
{
    private JsonFile(string path, JsonDocument document)
    {
        Path = path;
        Document = document;
    }

    public string Path { get; }

    public JsonDocument Document { get; }

    public JsonElement Root => Document.RootElement;

    /// <summary>Opens and parses <paramref name="path"/>; a missing file or invalid JSON becomes a <see cref="TokenizerException"/>.</summary>
    public static JsonFile Open(string path, string whatItIs)
    {
        byte[] bytes;
        try
        {
            bytes = InputFiles.ReadAllBytes(path, whatItIs, InputFiles.TokenizerLimit, message => new TokenizerException(message));
        }
        catch (Exception exception) when (exception is ArgumentException or NotSupportedException)
        {
            throw new TokenizerException($"{path}: cannot read {whatItIs}: {exception.Message}", exception);
        }

        // JsonDocument checks UTF-8 only when a string is read; check it all now to report it as a file error.
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            throw new TokenizerException($"{path}: {whatItIs} is not valid UTF-8 (at byte {FirstInvalidUtf8Byte(bytes).ToString(CultureInfo.InvariantCulture)})");
        }

        try
        {
            var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 128 });
            return new JsonFile(path, document);
        }
        catch (JsonException exception)
        {
            string where = exception.LineNumber is long line
                ? $" at line {(line + 1).ToString(CultureInfo.InvariantCulture)}, byte {((exception.BytePositionInLine ?? 0) + 1).ToString(CultureInfo.InvariantCulture)}"
                : string.Empty;
            throw new TokenizerException($"{path}: {whatItIs} is not valid JSON{where}", exception);
        }
    }

    private static int FirstInvalidUtf8Byte(ReadOnlySpan<byte> bytes)
    {
        int offset = 0;
        while (offset < bytes.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[offset..], out _, out int consumed) != System.Buffers.OperationStatus.Done)
            {
                return offset;
            }

            offset += consumed;
        }

        return offset;
    }

    /// <summary>
    /// Runs <paramref name="read"/> over this file, turning System.Text.Json's complaint about a string it cannot
    /// unescape (a lone surrogate written as <c>\uD800</c>, found only when the string is read) into a file error.
    /// </summary>
    public T Read<T>(Func<JsonFile, T> read)
    {
        using (Document)
        {
            try
            {
                return read(this);
            }
            catch (InvalidOperationException exception) when (exception.TargetSite?.DeclaringType?.Assembly == typeof(JsonDocument).Assembly)
            {
                throw new TokenizerException($"{Path}: a string is not valid text ({exception.Message})", exception);
            }
        }
    }

    public TokenizerException Error(string fieldPath, string message) => new($"{Path}: {fieldPath}: {message}");

    public static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    public void RequireKind(JsonElement element, JsonValueKind kind, string fieldPath, string expected)
    {
        if (element.ValueKind != kind)
        {
            throw Error(fieldPath, $"expected {expected}, found {Describe(element)}");
        }
    }

    /// <summary>The member <paramref name="name"/> of an object; missing or null gives null.</summary>
    public static JsonElement? Optional(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    public JsonElement Required(JsonElement parent, string name, string parentPath)
    {
        string path = Join(parentPath, name);
        return Optional(parent, name) ?? throw Error(path, "missing");
    }

    public JsonElement RequiredObject(JsonElement parent, string name, string parentPath)
    {
        JsonElement value = Required(parent, name, parentPath);
        RequireKind(value, JsonValueKind.Object, Join(parentPath, name), "an object");
        return value;
    }

    public JsonElement RequiredArray(JsonElement parent, string name, string parentPath)
    {
        JsonElement value = Required(parent, name, parentPath);
        RequireKind(value, JsonValueKind.Array, Join(parentPath, name), "an array");
        return value;
    }

    public string RequiredString(JsonElement parent, string name, string parentPath)
    {
        JsonElement value = Required(parent, name, parentPath);
        return AsString(value, Join(parentPath, name));
    }

    public string? OptionalString(JsonElement parent, string name, string parentPath)
    {
        JsonElement? value = Optional(parent, name);
        return value is null ? null : AsString(value.Value, Join(parentPath, name));
    }

    public string AsString(JsonElement value, string fieldPath)
    {
        RequireKind(value, JsonValueKind.String, fieldPath, "a string");
        return value.GetString()!;
    }

    public bool OptionalBool(JsonElement parent, string name, string parentPath, bool defaultValue)
    {
        JsonElement? value = Optional(parent, name);
        if (value is null)
        {
            return defaultValue;
        }

        return value.Value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(Join(parentPath, name), $"expected true or false, found {Describe(value.Value)}"),
        };
    }

    /// <summary>A token id: an integer in [0, <paramref name="limit"/>).</summary>
    public int AsTokenId(JsonElement value, string fieldPath, int limit)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long id) || id < 0 || id >= limit)
        {
            throw Error(fieldPath, $"expected a token id (an integer from 0 to {(limit - 1).ToString(CultureInfo.InvariantCulture)}), found {Shorten(value.GetRawText())}");
        }

        return (int)id;
    }

    /// <summary>A value quoted in a message, cut to a readable length and kept on one line.</summary>
    public static string Shorten(string text)
    {
        string oneLine = text.ReplaceLineEndings(" ");
        return oneLine.Length <= 60 ? oneLine : oneLine[..57] + "...";
    }

    public static string Join(string parentPath, string name) => parentPath.Length == 0 ? name : parentPath + "." + name;

    public static string Index(string arrayPath, int index) => arrayPath + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";
}
