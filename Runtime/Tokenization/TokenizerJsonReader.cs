using System.Text.Json;
using KernelSharp.Runtime.Tokenization.PreTokenization;

namespace KernelSharp.Runtime.Tokenization;

/// <summary>Everything the tokenizer needs from a tokenizer.json, checked.</summary>
internal sealed record TokenizerDefinition(
    Dictionary<string, int> Vocab,
    Dictionary<long, (int Rank, int NewId)> Merges,
    BpeOptions Options,
    IReadOnlyList<AddedToken> AddedTokens,
    PreTokenizer? PreTokenizer,
    SpecialTokenTemplate Template);

/// <summary>
/// Reads a Hugging Face tokenizer.json of a byte-level BPE tokenizer. Supported: model <c>BPE</c>; normalizer none (or an
/// empty Sequence); pre-tokenizers <c>Sequence</c>, <c>Split</c> (Regex or String pattern, every behavior, invert),
/// <c>ByteLevel</c>, <c>Digits</c>; post-processors none, <c>ByteLevel</c>, <c>TemplateProcessing</c>, <c>Sequence</c>;
/// decoder <c>ByteLevel</c>. Anything else is refused with a message naming the field, rather than silently tokenizing
/// differently from the reference library.
/// </summary>
internal static partial class TokenizerJsonReader
{
    // Ids index arrays; a limit (16× the largest real vocabularies) keeps a corrupt file from asking for gigabytes.
    public const int MaxTokenId = 1 << 22;

    public static TokenizerDefinition Read(string path)
    {
        return JsonFile.Open(path, "tokenizer file").Read(ReadDefinition);
    }

    private static TokenizerDefinition ReadDefinition(JsonFile file)
    {
        JsonElement root = file.Root;
        file.RequireKind(root, JsonValueKind.Object, "(top level)", "an object");

        JsonElement model = file.RequiredObject(root, "model", "");
        string? type = file.OptionalString(model, "type", "model");
        if (type is not null && type != "BPE")
        {
            throw file.Error("model.type", $"\"{JsonFile.Shorten(type)}\" is not supported; only BPE tokenizers are");
        }

        Dictionary<string, int> vocab = ReadVocab(file, model);
        Dictionary<long, (int Rank, int NewId)> merges = ReadMerges(file, model, vocab);
        BpeOptions options = ReadOptions(file, model, vocab);
        List<AddedToken> addedTokens = AssignAddedTokenIds(file, ReadAddedTokens(file, root), vocab);

        CheckNormalizer(file, JsonFile.Optional(root, "normalizer"), "normalizer");
        JsonElement? preTokenizerJson = JsonFile.Optional(root, "pre_tokenizer");
        PreTokenizer? preTokenizer = preTokenizerJson is null ? null : ReadPreTokenizer(file, preTokenizerJson.Value, "pre_tokenizer");
        SpecialTokenTemplate template = ReadPostProcessor(file, JsonFile.Optional(root, "post_processor"), "post_processor");
        CheckDecoder(file, JsonFile.Optional(root, "decoder"), "decoder");

        return new TokenizerDefinition(vocab, merges, options, addedTokens, preTokenizer, template);
    }

    private static Dictionary<string, int> ReadVocab(JsonFile file, JsonElement model)
    {
        JsonElement vocabJson = file.RequiredObject(model, "vocab", "model");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty entry in vocabJson.EnumerateObject())
        {
            // The field path is built only for an error: 128K entries must load fast.
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0 || id >= MaxTokenId)
            {
                file.AsTokenId(entry.Value, "model.vocab[\"" + JsonFile.Shorten(entry.Name) + "\"]", MaxTokenId);
                continue;
            }

            vocab[entry.Name] = id;
        }

        return vocab;
    }

    // merges: ["a b", ...] (the older form) or [["a", "b"], ...]; rank = index. A later duplicate replaces an earlier one.
    private static Dictionary<long, (int Rank, int NewId)> ReadMerges(JsonFile file, JsonElement model, Dictionary<string, int> vocab)
    {
        JsonElement mergesJson = file.RequiredArray(model, "merges", "model");
        var merges = new Dictionary<long, (int Rank, int NewId)>(mergesJson.GetArrayLength());
        Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        char[] joined = new char[64]; // left + right, grown when needed
        int rank = 0;
        foreach (JsonElement entry in mergesJson.EnumerateArray())
        {
            string text;
            int split; // left = text[..split], right = text[(split + skip)..]
            int skip;
            if (entry.ValueKind == JsonValueKind.String)
            {
                text = entry.GetString()!;
                split = text.IndexOf(' ', StringComparison.Ordinal);
                skip = 1;
                if (split < 0)
                {
                    throw file.Error(JsonFile.Index("model.merges", rank), $"expected two tokens separated by a space, found \"{JsonFile.Shorten(text)}\"");
                }
            }
            else if (entry.ValueKind == JsonValueKind.Array && entry.GetArrayLength() == 2
                && entry[0].ValueKind == JsonValueKind.String && entry[1].ValueKind == JsonValueKind.String)
            {
                string first = entry[0].GetString()!;
                text = first + entry[1].GetString();
                split = first.Length;
                skip = 0;
            }
            else
            {
                throw file.Error(JsonFile.Index("model.merges", rank), $"expected \"left right\" or [\"left\", \"right\"], found {JsonFile.Shorten(entry.GetRawText())}");
            }

            ReadOnlySpan<char> left = text.AsSpan(0, split);
            ReadOnlySpan<char> right = text.AsSpan(split + skip);
            if (!vocabBySpan.TryGetValue(left, out int leftId) || !vocabBySpan.TryGetValue(right, out int rightId))
            {
                string missing = vocabBySpan.ContainsKey(left) ? right.ToString() : left.ToString();
                throw file.Error(JsonFile.Index("model.merges", rank), $"token \"{JsonFile.Shorten(missing)}\" is not in model.vocab");
            }

            if (joined.Length < left.Length + right.Length)
            {
                joined = new char[2 * (left.Length + right.Length)];
            }

            left.CopyTo(joined);
            right.CopyTo(joined.AsSpan(left.Length));
            ReadOnlySpan<char> merged = joined.AsSpan(0, left.Length + right.Length);
            if (!vocabBySpan.TryGetValue(merged, out int mergedId))
            {
                throw file.Error(
                    JsonFile.Index("model.merges", rank),
                    $"merging \"{JsonFile.Shorten(left.ToString())}\" and \"{JsonFile.Shorten(right.ToString())}\" gives \"{JsonFile.Shorten(merged.ToString())}\", which is not in model.vocab");
            }

            merges[BpeModel.PairKey(leftId, rightId)] = (rank, mergedId);
            rank++;
        }

        return merges;
    }

    private static BpeOptions ReadOptions(JsonFile file, JsonElement model, Dictionary<string, int> vocab)
    {
        if (JsonFile.Optional(model, "dropout") is JsonElement dropout)
        {
            if (dropout.ValueKind != JsonValueKind.Number || !dropout.TryGetDouble(out double p) || p < 0 || p > 1)
            {
                throw file.Error("model.dropout", $"expected null or a number from 0 to 1, found {JsonFile.Shorten(dropout.GetRawText())}");
            }

            if (p > 0)
            {
                throw file.Error("model.dropout", "BPE dropout is random and is not supported at inference; set it to null");
            }
        }

        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            string? value = file.OptionalString(model, affix, "model");
            if (!string.IsNullOrEmpty(value))
            {
                throw file.Error("model." + affix, "word prefixes/suffixes are not supported (byte-level BPE does not use them)");
            }
        }

        int? unknownId = null;
        string? unknownToken = file.OptionalString(model, "unk_token", "model");
        if (unknownToken is not null)
        {
            unknownId = vocab.TryGetValue(unknownToken, out int id)
                ? id
                : throw file.Error("model.unk_token", $"\"{JsonFile.Shorten(unknownToken)}\" is not in model.vocab");
        }

        return new BpeOptions(
            IgnoreMerges: file.OptionalBool(model, "ignore_merges", "model", false),
            UnknownTokenId: unknownId,
            FuseUnknown: file.OptionalBool(model, "fuse_unk", "model", false),
            ByteFallback: file.OptionalBool(model, "byte_fallback", "model", false));
    }

    private static List<AddedToken> ReadAddedTokens(JsonFile file, JsonElement root)
    {
        var tokens = new List<AddedToken>();
        if (JsonFile.Optional(root, "added_tokens") is not JsonElement array)
        {
            return tokens;
        }

        file.RequireKind(array, JsonValueKind.Array, "added_tokens", "an array");
        int index = 0;
        foreach (JsonElement entry in array.EnumerateArray())
        {
            string path = JsonFile.Index("added_tokens", index++);
            file.RequireKind(entry, JsonValueKind.Object, path, "an object");
            int id = file.AsTokenId(file.Required(entry, "id", path), path + ".id", MaxTokenId);
            string content = file.RequiredString(entry, "content", path);
            bool special = file.OptionalBool(entry, "special", path, false);
            tokens.Add(new AddedToken(
                id,
                content,
                SingleWord: file.OptionalBool(entry, "single_word", path, false),
                LeftStrip: file.OptionalBool(entry, "lstrip", path, false),
                RightStrip: file.OptionalBool(entry, "rstrip", path, false),
                Normalized: file.OptionalBool(entry, "normalized", path, !special),
                Special: special));
        }

        return tokens;
    }

    /// <summary>
    /// The ids tokenizers really uses: it ignores the "id" written in added_tokens (only warning when it differs) and adds
    /// the tokens one by one: a content already added or in the vocabulary keeps that id, a new one takes the next id
    /// after the vocabulary (its entry count) and the added tokens so far. An empty content is skipped; a repeated
    /// content replaces the earlier entry's flags.
    /// </summary>
    private static List<AddedToken> AssignAddedTokenIds(JsonFile file, List<AddedToken> written, Dictionary<string, int> vocab)
    {
        var byId = new Dictionary<int, AddedToken>();
        var idsByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<int>();
        int? largestAddedId = null;
        foreach (AddedToken token in written)
        {
            if (token.Content.Length == 0)
            {
                continue;
            }

            int id;
            if (idsByContent.TryGetValue(token.Content, out int existing) || vocab.TryGetValue(token.Content, out existing))
            {
                id = existing;
            }
            else
            {
                id = largestAddedId is int largest && (largest >= vocab.Count || vocab.Count == 0) ? largest + 1 : vocab.Count;
            }

            if (id >= MaxTokenId)
            {
                throw file.Error("added_tokens", $"too many added tokens (id {id})");
            }

            idsByContent[token.Content] = id;
            if (!byId.ContainsKey(id))
            {
                order.Add(id);
            }

            byId[id] = token with { Id = id };
            largestAddedId = Math.Max(largestAddedId ?? id, id);
        }

        return order.Select(id => byId[id]).ToList();
    }
}
