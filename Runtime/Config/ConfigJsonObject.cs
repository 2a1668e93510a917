using System.Globalization;
using System.Text.Json;

namespace KernelSharp.Runtime;

/// <summary>
/// Typed access to the keys of one JSON object of a config file. Every failure is a <see cref="ConfigException"/>
/// naming the source file, the key (with its parent object, e.g. <c>rope_scaling.factor</c>) and the expected type.
/// </summary>
internal readonly struct ConfigJsonObject
{
    private readonly JsonElement element;
    private readonly string sourceName;
    private readonly string keyPrefix;

    public ConfigJsonObject(JsonElement element, string sourceName, string keyPrefix)
    {
        this.element = element;
        this.sourceName = sourceName;
        this.keyPrefix = keyPrefix;
    }

    public string SourceName => sourceName;

    /// <summary>True when the key is present with a non-null value.</summary>
    public bool Has(string key) => element.TryGetProperty(key, out JsonElement value) && value.ValueKind != JsonValueKind.Null;

    /// <summary>True when the key is present, even with a null value.</summary>
    public bool HasKey(string key) => element.TryGetProperty(key, out _);

    public string FullKey(string key) => keyPrefix + key;

    public ConfigException Error(string key, string problem) => new($"{sourceName}: '{FullKey(key)}' {problem}");

    public int RequiredInt(string key) => ReadInt(key, Required(key, "an integer"));

    public int OptionalInt(string key, int fallback) => Has(key) ? ReadInt(key, element.GetProperty(key)) : fallback;

    /// <summary>An integer that may be absent or null (e.g. <c>q_lora_rank</c>), which gives null.</summary>
    public int? NullableInt(string key) => Has(key) ? ReadInt(key, element.GetProperty(key)) : null;

    /// <summary>A key that must be present but may be null.</summary>
    public int? RequiredNullableInt(string key)
    {
        if (!HasKey(key))
        {
            throw Error(key, "is missing (an integer or null)");
        }

        return NullableInt(key);
    }

    public double RequiredDouble(string key) => ReadDouble(key, Required(key, "a number"));

    public double OptionalDouble(string key, double fallback) => Has(key) ? ReadDouble(key, element.GetProperty(key)) : fallback;

    public bool OptionalBool(string key, bool fallback)
    {
        if (!Has(key))
        {
            return fallback;
        }

        JsonElement value = element.GetProperty(key);
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(key, $"must be true or false, got {Describe(value)}"),
        };
    }

    public string? OptionalString(string key)
    {
        if (!Has(key))
        {
            return null;
        }

        JsonElement value = element.GetProperty(key);
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw Error(key, $"must be a string, got {Describe(value)}");
    }

    /// <summary>A nested object, or null when the key is absent or null.</summary>
    public ConfigJsonObject? OptionalObject(string key)
    {
        if (!Has(key))
        {
            return null;
        }

        JsonElement value = element.GetProperty(key);
        return value.ValueKind == JsonValueKind.Object
            ? new ConfigJsonObject(value, sourceName, FullKey(key) + ".")
            : throw Error(key, $"must be an object or null, got {Describe(value)}");
    }

    /// <summary>An integer or a list of integers (e.g. <c>eos_token_id</c>); absent or null gives <paramref name="fallback"/>.</summary>
    public IReadOnlyList<int> IntOrIntList(string key, IReadOnlyList<int> fallback)
    {
        if (!Has(key))
        {
            return fallback;
        }

        JsonElement value = element.GetProperty(key);
        if (value.ValueKind == JsonValueKind.Array)
        {
            var list = new List<int>();
            foreach (JsonElement item in value.EnumerateArray())
            {
                list.Add(ReadInt(key, item));
            }

            return list;
        }

        return [ReadInt(key, value)];
    }

    /// <summary>A list of exactly <paramref name="count"/> integers (e.g. <c>weight_block_size</c>).</summary>
    public int[] IntArray(string key, int count)
    {
        JsonElement value = Required(key, $"a list of {count} integers");
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != count)
        {
            throw Error(key, $"must be a list of {count} integers, got {Describe(value)}");
        }

        var result = new int[count];
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            result[i++] = ReadInt(key, item);
        }

        return result;
    }

    private JsonElement Required(string key, string expected)
    {
        if (!element.TryGetProperty(key, out JsonElement value))
        {
            throw Error(key, $"is missing ({expected})");
        }

        if (value.ValueKind == JsonValueKind.Null)
        {
            throw Error(key, $"is null; expected {expected}");
        }

        return value;
    }

    private int ReadInt(string key, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw Error(key, $"must be an integer, got {Describe(value)}");
        }

        if (value.TryGetInt32(out int integer))
        {
            return integer;
        }

        // Python writes 128.0 for a float-typed int now and then; accept whole numbers in range.
        if (value.TryGetDouble(out double number) && number == Math.Floor(number) && number >= int.MinValue && number <= int.MaxValue)
        {
            return (int)number;
        }

        throw Error(key, $"must be an integer between {int.MinValue} and {int.MaxValue}, got {value.GetRawText()}");
    }

    private double ReadDouble(string key, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number) || !double.IsFinite(number))
        {
            throw Error(key, $"must be a finite number, got {Describe(value)}");
        }

        return number;
    }

    /// <summary>A short description of a JSON value for an error message: its kind and, when short, its text.</summary>
    public static string Describe(JsonElement value)
    {
        string raw = value.GetRawText();
        string kind = value.ValueKind switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "the number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Array => "a list",
            JsonValueKind.Object => "an object",
            JsonValueKind.Null => "null",
            _ => value.ValueKind.ToString(),
        };
        return raw.Length <= 40 && value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null)
            ? string.Create(CultureInfo.InvariantCulture, $"{kind} {raw.ReplaceLineEndings(" ")}")
            : kind;
    }
}
