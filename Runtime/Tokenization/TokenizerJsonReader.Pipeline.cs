using System.Text.Json;
using KernelSharp.Runtime.Tokenization.Patterns;
using KernelSharp.Runtime.Tokenization.PreTokenization;

namespace KernelSharp.Runtime.Tokenization;

/// <summary>The pipeline parts of tokenizer.json around the model: normalizer, pre-tokenizer, post-processor, decoder.</summary>
internal static partial class TokenizerJsonReader
{
    // Only the identity normalizer is supported: none, or a Sequence of nothing.
    private static void CheckNormalizer(JsonFile file, JsonElement? normalizer, string path)
    {
        if (normalizer is not JsonElement json)
        {
            return;
        }

        file.RequireKind(json, JsonValueKind.Object, path, "an object");
        string type = file.RequiredString(json, "type", path);
        if (type != "Sequence")
        {
            throw file.Error(path + ".type", $"normalizer \"{JsonFile.Shorten(type)}\" is not supported (only none)");
        }

        JsonElement children = file.RequiredArray(json, "normalizers", path);
        int index = 0;
        foreach (JsonElement child in children.EnumerateArray())
        {
            CheckNormalizer(file, child, JsonFile.Index(path + ".normalizers", index++));
        }
    }

    private static PreTokenizer ReadPreTokenizer(JsonFile file, JsonElement json, string path)
    {
        file.RequireKind(json, JsonValueKind.Object, path, "an object");
        string type = file.RequiredString(json, "type", path);
        switch (type)
        {
            case "Sequence":
                {
                    JsonElement children = file.RequiredArray(json, "pretokenizers", path);
                    var steps = new List<PreTokenizer>();
                    int index = 0;
                    foreach (JsonElement child in children.EnumerateArray())
                    {
                        steps.Add(ReadPreTokenizer(file, child, JsonFile.Index(path + ".pretokenizers", index++)));
                    }

                    return new SequencePreTokenizer(steps);
                }

            case "Split":
                return new SplitPreTokenizer(
                    ReadSplitPattern(file, file.RequiredObject(json, "pattern", path), path + ".pattern"),
                    ReadBehavior(file, file.RequiredString(json, "behavior", path), path + ".behavior"),
                    file.OptionalBool(json, "invert", path, false));
            case "ByteLevel":
                return new ByteLevelPreTokenizer(
                    addPrefixSpace: file.OptionalBool(json, "add_prefix_space", path, true),
                    useRegex: file.OptionalBool(json, "use_regex", path, true));
            case "Digits":
                return new DigitsPreTokenizer(file.OptionalBool(json, "individual_digits", path, false));
            default:
                throw file.Error(path + ".type", $"pre-tokenizer \"{JsonFile.Shorten(type)}\" is not supported (Sequence, Split, ByteLevel and Digits are)");
        }
    }

    private static ISplitPattern ReadSplitPattern(JsonFile file, JsonElement pattern, string path)
    {
        if (JsonFile.Optional(pattern, "Regex") is JsonElement regex)
        {
            string source = file.AsString(regex, path + ".Regex");
            try
            {
                return new RegexSplitPattern(CodePointPattern.Compile(source));
            }
            catch (PatternSyntaxException exception)
            {
                throw file.Error(path + ".Regex", $"unsupported or invalid pattern: {exception.Message}");
            }
        }

        if (JsonFile.Optional(pattern, "String") is JsonElement literal)
        {
            return new LiteralSplitPattern(CodePoints.FromString(file.AsString(literal, path + ".String")));
        }

        throw file.Error(path, "expected {\"Regex\": ...} or {\"String\": ...}");
    }

    private static SplitDelimiterBehavior ReadBehavior(JsonFile file, string behavior, string path) => behavior switch
    {
        "Removed" => SplitDelimiterBehavior.Removed,
        "Isolated" => SplitDelimiterBehavior.Isolated,
        "MergedWithPrevious" => SplitDelimiterBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitDelimiterBehavior.MergedWithNext,
        "Contiguous" => SplitDelimiterBehavior.Contiguous,
        _ => throw file.Error(path, $"\"{JsonFile.Shorten(behavior)}\" is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous"),
    };

    private static SpecialTokenTemplate ReadPostProcessor(JsonFile file, JsonElement? json, string path)
    {
        if (json is not JsonElement processor)
        {
            return SpecialTokenTemplate.None;
        }

        file.RequireKind(processor, JsonValueKind.Object, path, "an object");
        string type = file.RequiredString(processor, "type", path);
        switch (type)
        {
            case "ByteLevel":
                return SpecialTokenTemplate.None; // only adjusts offsets
            case "TemplateProcessing":
                return SpecialTokenTemplate.Read(file, processor, path);
            case "Sequence":
                {
                    SpecialTokenTemplate combined = SpecialTokenTemplate.None;
                    JsonElement children = file.RequiredArray(processor, "processors", path);
                    int index = 0;
                    foreach (JsonElement child in children.EnumerateArray())
                    {
                        SpecialTokenTemplate template = ReadPostProcessor(file, child, JsonFile.Index(path + ".processors", index++));
                        combined = template.IsEmpty ? combined : template;
                    }

                    return combined;
                }

            default:
                throw file.Error(path + ".type", $"post-processor \"{JsonFile.Shorten(type)}\" is not supported (ByteLevel, TemplateProcessing and Sequence are)");
        }
    }

    private static void CheckDecoder(JsonFile file, JsonElement? json, string path)
    {
        if (json is not JsonElement decoder)
        {
            throw file.Error(path, "missing; a ByteLevel decoder is required");
        }

        file.RequireKind(decoder, JsonValueKind.Object, path, "an object");
        string type = file.RequiredString(decoder, "type", path);
        if (type == "ByteLevel")
        {
            return;
        }

        if (type == "Sequence")
        {
            JsonElement children = file.RequiredArray(decoder, "decoders", path);
            if (children.GetArrayLength() == 1)
            {
                CheckDecoder(file, children[0], JsonFile.Index(path + ".decoders", 0));
                return;
            }
        }

        throw file.Error(path + ".type", $"decoder \"{JsonFile.Shorten(type)}\" is not supported (only ByteLevel)");
    }
}
