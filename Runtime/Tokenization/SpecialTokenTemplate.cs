using System.Text.Json;

namespace KernelSharp.Runtime.Tokenization;

/// <summary>
/// The ids a post-processor puts around one encoded text when special tokens are requested: from tokenizer.json's
/// <c>TemplateProcessing</c> "single" template (<c>{"SpecialToken": ...}</c> items before and after <c>{"Sequence": {"id": "A"}}</c>),
/// or from tokenizer_config.json's <c>add_bos_token</c>/<c>add_eos_token</c>.
/// </summary>
internal sealed record SpecialTokenTemplate(int[] Prefix, int[] Suffix)
{
    public static readonly SpecialTokenTemplate None = new([], []);

    public bool IsEmpty => Prefix.Length == 0 && Suffix.Length == 0;

    public static SpecialTokenTemplate Read(JsonFile file, JsonElement processor, string path)
    {
        JsonElement single = file.RequiredArray(processor, "single", path);
        JsonElement? specialTokens = JsonFile.Optional(processor, "special_tokens");
        var prefix = new List<int>();
        var suffix = new List<int>();
        bool seenSequence = false;
        int index = 0;
        foreach (JsonElement item in single.EnumerateArray())
        {
            string itemPath = JsonFile.Index(path + ".single", index++);
            if (JsonFile.Optional(item, "Sequence") is not null)
            {
                seenSequence = true;
                continue;
            }

            JsonElement special = file.RequiredObject(item, "SpecialToken", itemPath);
            string name = file.RequiredString(special, "id", itemPath + ".SpecialToken");
            JsonElement definition = specialTokens is JsonElement map && JsonFile.Optional(map, name) is JsonElement found
                ? found
                : throw file.Error(itemPath, $"special token \"{JsonFile.Shorten(name)}\" is not defined in {path}.special_tokens");
            string definitionPath = path + ".special_tokens[\"" + JsonFile.Shorten(name) + "\"]";
            JsonElement ids = file.RequiredArray(definition, "ids", definitionPath);
            int idIndex = 0;
            foreach (JsonElement id in ids.EnumerateArray())
            {
                (seenSequence ? suffix : prefix).Add(file.AsTokenId(id, JsonFile.Index(definitionPath + ".ids", idIndex++), TokenizerJsonReader.MaxTokenId));
            }
        }

        return new SpecialTokenTemplate([.. prefix], [.. suffix]);
    }
}
