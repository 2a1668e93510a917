using System.Text;
using KernelSharp.Runtime.Tokenization.PreTokenization;

namespace KernelSharp.Runtime.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer loaded from a Hugging Face <c>tokenizer.json</c>, giving the same ids as the
/// <c>tokenizers</c> library. Encoding: added tokens are cut out of the raw text first (those with
/// <c>normalized: false</c>, then the others in what is left), each remaining stretch is pre-tokenized into pieces over
/// Unicode scalar values (so emoji and other non-BMP characters get their real categories), each piece is spelled as
/// UTF-8 bytes in GPT-2's byte alphabet and merged by BPE. Decoding maps tokens back to bytes and reads them as UTF-8,
/// replacing invalid sequences with U+FFFD. Safe to use from several threads at once.
/// </summary>
public sealed class BpeTokenizer
{
    private readonly BpeModel model;
    private readonly PreTokenizer? preTokenizer;
    private readonly AddedTokenMatcher rawTextMatcher;        // added tokens with normalized: false
    private readonly AddedTokenMatcher normalizedTextMatcher; // the others
    private readonly byte[]?[] tokenBytes;                    // [VocabSize] the bytes each id decodes to; null = unused id
    private readonly bool[] isSpecial;                        // [VocabSize] added tokens marked special (skippable in decode)
    private readonly string?[] tokens;                        // [VocabSize] token text by id
    private readonly Dictionary<string, int> vocab;
    private readonly Dictionary<string, int> addedTokenIds;
    private readonly SpecialTokenTemplate specialTokens;

    private BpeTokenizer(TokenizerDefinition definition, TokenizerConfig config, string source)
    {
        model = new BpeModel(definition.Vocab, definition.Merges, definition.Options);
        preTokenizer = definition.PreTokenizer;
        rawTextMatcher = new AddedTokenMatcher(definition.AddedTokens.Where(token => !token.Normalized));
        normalizedTextMatcher = new AddedTokenMatcher(definition.AddedTokens.Where(token => token.Normalized));

        vocab = definition.Vocab;
        addedTokenIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (AddedToken added in definition.AddedTokens)
        {
            addedTokenIds.TryAdd(added.Content, added.Id);
        }

        int size = 0;
        foreach (int id in definition.Vocab.Values)
        {
            size = Math.Max(size, id + 1);
        }

        foreach (AddedToken added in definition.AddedTokens)
        {
            size = Math.Max(size, added.Id + 1);
        }

        VocabSize = size;
        tokens = new string?[size];
        foreach ((string token, int id) in definition.Vocab)
        {
            tokens[id] = token;
        }

        isSpecial = new bool[size];
        foreach (AddedToken added in definition.AddedTokens)
        {
            tokens[added.Id] = added.Content; // tokenizers looks ids up in the added vocabulary first
            isSpecial[added.Id] = added.Special;
        }

        tokenBytes = new byte[size][];
        for (int id = 0; id < size; id++)
        {
            tokenBytes[id] = tokens[id] is string token ? ByteLevelBytes(token) : null;
        }

        BosTokenId = ResolveConfigToken(config.BosToken, source, "bos_token") ?? (definition.Template.Prefix.Length > 0 ? definition.Template.Prefix[0] : null);
        EosTokenId = ResolveConfigToken(config.EosToken, source, "eos_token");

        // transformers rebuilds the post-processor from add_bos_token/add_eos_token when the config states them.
        if (config.AddBosToken is not null || config.AddEosToken is not null)
        {
            int[] prefix = config.AddBosToken == true ? [RequireConfigToken(BosTokenId, source, "add_bos_token is true but bos_token")] : [];
            int[] suffix = config.AddEosToken == true ? [RequireConfigToken(EosTokenId, source, "add_eos_token is true but eos_token")] : [];
            specialTokens = new SpecialTokenTemplate(prefix, suffix);
        }
        else
        {
            specialTokens = definition.Template;
        }

        foreach (int id in specialTokens.Prefix.Concat(specialTokens.Suffix))
        {
            if (id >= size || tokens[id] is null)
            {
                throw new TokenizerException($"{source}: post_processor adds token id {id}, which is not in the vocabulary");
            }
        }
    }

    /// <summary>One more than the largest token id (vocabulary and added tokens).</summary>
    public int VocabSize { get; }

    /// <summary>The beginning-of-sequence id (tokenizer_config.json's bos_token, else the template's first special token).</summary>
    public int? BosTokenId { get; }

    /// <summary>The end-of-sequence id from tokenizer_config.json's eos_token.</summary>
    public int? EosTokenId { get; }

    /// <summary>
    /// Loads <paramref name="tokenizerJsonPath"/>, and the tokenizer_config.json at <paramref name="tokenizerConfigPath"/> or, when
    /// that is null, the one beside tokenizer.json if there is one. Throws <see cref="TokenizerException"/> (one line naming the
    /// file and field) for a missing file, invalid JSON, an unsupported model or component, or an inconsistent vocabulary.
    /// </summary>
    public static BpeTokenizer Load(string tokenizerJsonPath, string? tokenizerConfigPath = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizerJsonPath);
        TokenizerDefinition definition = TokenizerJsonReader.Read(tokenizerJsonPath);
        if (tokenizerConfigPath is null)
        {
            string sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerJsonPath)) ?? ".", "tokenizer_config.json");
            tokenizerConfigPath = File.Exists(sibling) ? sibling : null;
        }

        TokenizerConfig config = tokenizerConfigPath is null ? TokenizerConfig.Empty : TokenizerConfig.Read(tokenizerConfigPath);
        return new BpeTokenizer(definition, config, tokenizerConfigPath ?? tokenizerJsonPath);
    }

    /// <summary>
    /// The ids of <paramref name="text"/>. With <paramref name="addSpecialTokens"/>, BOS/EOS are added as tokenizer_config.json
    /// (add_bos_token, add_eos_token) or else tokenizer.json's post-processor says — what transformers' <c>encode</c> does.
    /// </summary>
    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens)
        {
            ids.AddRange(specialTokens.Prefix);
        }

        var rawSegments = new List<TextSegment>();
        var segments = new List<TextSegment>();
        rawTextMatcher.Split(text, 0, text.Length, rawSegments);
        foreach (TextSegment raw in rawSegments)
        {
            if (raw.TokenId >= 0)
            {
                ids.Add(raw.TokenId);
                continue;
            }

            segments.Clear();
            normalizedTextMatcher.Split(text, raw.Start, raw.End, segments);
            foreach (TextSegment segment in segments)
            {
                if (segment.TokenId >= 0)
                {
                    ids.Add(segment.TokenId);
                }
                else
                {
                    EncodeOrdinaryText(text.AsSpan(segment.Start, segment.End - segment.Start), ids);
                }
            }
        }

        if (addSpecialTokens)
        {
            ids.AddRange(specialTokens.Suffix);
        }

        return [.. ids];
    }

    /// <summary>
    /// The text of <paramref name="ids"/>: all token bytes joined and read as UTF-8 (invalid sequences become U+FFFD), ids outside
    /// the vocabulary ignored, special added tokens left out when <paramref name="skipSpecialTokens"/> — as tokenizers' decode.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
        {
            AppendTokenBytes(id, skipSpecialTokens, bytes);
        }

        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>A decoder for generated ids one at a time that only ever returns complete characters.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = false) => new(this, skipSpecialTokens);

    /// <summary>The token text of <paramref name="id"/> (in the byte alphabet for vocabulary tokens), or null.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)tokens.Length ? tokens[id] : null;

    /// <summary>The id of a token written exactly as in the vocabulary or the added tokens, or null.</summary>
    public int? TokenToId(string token) =>
        addedTokenIds.TryGetValue(token, out int id) || vocab.TryGetValue(token, out id) ? id : null; // added tokens first, as in tokenizers

    /// <summary>True for added tokens marked <c>special</c> (BOS, EOS, padding, ...).</summary>
    public bool IsSpecialToken(int id) => (uint)id < (uint)isSpecial.Length && isSpecial[id];

    internal void AppendTokenBytes(int id, bool skipSpecialTokens, List<byte> bytes)
    {
        if ((uint)id >= (uint)tokenBytes.Length || tokenBytes[id] is not byte[] tokenText || (skipSpecialTokens && isSpecial[id]))
        {
            return;
        }

        bytes.AddRange(tokenText);
    }

    private void EncodeOrdinaryText(ReadOnlySpan<char> text, List<int> ids)
    {
        if (text.IsEmpty)
        {
            return;
        }

        var pieces = new List<ReadOnlyMemory<int>> { CodePoints.FromString(text) };
        preTokenizer?.PreTokenize(pieces);
        foreach (ReadOnlyMemory<int> piece in pieces)
        {
            model.Tokenize(piece.Span, ids);
        }
    }

    // tokenizers' ByteLevel decoder: a token whose characters all belong to the byte alphabet stands for those bytes;
    // any other token (an added token such as <｜User｜>) stands for its own UTF-8 text.
    private static byte[] ByteLevelBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            int b = ByteLevelAlphabet.ByteOf(token[i]);
            if (b < 0)
            {
                return Encoding.UTF8.GetBytes(token);
            }

            bytes[i] = (byte)b;
        }

        return bytes;
    }

    private int? ResolveConfigToken(string? token, string source, string field)
    {
        if (token is null)
        {
            return null;
        }

        return TokenToId(token)
            ?? throw new TokenizerException($"{source}: {field} \"{JsonFile.Shorten(token)}\" is not a token of tokenizer.json");
    }

    private static int RequireConfigToken(int? id, string source, string what) =>
        id ?? throw new TokenizerException($"{source}: {what} is not set");
}
