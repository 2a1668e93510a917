using System.Text.Json;

namespace KernelSharp.Runtime.Tokenization;

/// <summary>
/// What the tokenizer takes from transformers' <c>tokenizer_config.json</c>: whether encoding with special tokens adds BOS
/// and EOS, and which tokens those are (<c>bos_token</c>/<c>eos_token</c> as a string or an <c>AddedToken</c> object).
/// </summary>
internal sealed record TokenizerConfig(bool? AddBosToken, bool? AddEosToken, string? BosToken, string? EosToken)
{
    public static readonly TokenizerConfig Empty = new(null, null, null, null);

    public static TokenizerConfig Read(string path)
    {
        return JsonFile.Open(path, "tokenizer config").Read(ReadConfig);
    }

    private static TokenizerConfig ReadConfig(JsonFile file)
    {
        JsonElement root = file.Root;
        file.RequireKind(root, JsonValueKind.Object, "(top level)", "an object");
        return new TokenizerConfig(
            OptionalBool(file, root, "add_bos_token"),
            OptionalBool(file, root, "add_eos_token"),
            TokenContent(file, root, "bos_token"),
            TokenContent(file, root, "eos_token"));
    }

    private static bool? OptionalBool(JsonFile file, JsonElement root, string name) =>
        JsonFile.Optional(root, name) is null ? null : file.OptionalBool(root, name, "", false);

    private static string? TokenContent(JsonFile file, JsonElement root, string name)
    {
        if (JsonFile.Optional(root, name) is not JsonElement value)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object
            ? file.RequiredString(value, "content", name)
            : file.AsString(value, name);
    }
}
