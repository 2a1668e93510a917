using System.Text.Json.Nodes;
using KernelSharp.Runtime.Tokenization;
using Xunit;

namespace KernelSharp.Runtime.Tests.Tokenization;

/// <summary>Every kind of broken tokenizer file gives one line naming the file, the field and what was expected.</summary>
public sealed class TokenizerErrorTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ks-tokenizer-errors-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void AMissingFileIsNamed()
    {
        string path = Path.Combine(directory, "absent", "tokenizer.json");

        var exception = Assert.Throws<TokenizerException>(() => BpeTokenizer.Load(path));

        Assert.Equal(path + ": tokenizer file not found", exception.Message);
    }

    [Fact]
    public void AFolderInsteadOfAFileIsNamed()
    {
        var exception = Assert.Throws<TokenizerException>(() => BpeTokenizer.Load(directory));

        Assert.Equal(directory + ": is a folder; expected the tokenizer file itself", exception.Message);
    }

    [Fact]
    public void InvalidJsonGivesThePosition()
    {
        string path = Write("tokenizer.json", "{\n  \"model\": {\"vocab\": {\"a\": 0,}\n");

        var exception = Assert.Throws<TokenizerException>(() => BpeTokenizer.Load(path));

        AssertOneLine(exception, path, "is not valid JSON at line 2");
    }

    [Theory]
    [InlineData("model.type", "\"WordPiece\"", "model.type: \"WordPiece\" is not supported; only BPE tokenizers are")]
    [InlineData("model.vocab", null, "model.vocab: missing")]
    [InlineData("model.merges", null, "model.merges: missing")]
    [InlineData("model.vocab", "[]", "model.vocab: expected an object, found an array")]
    [InlineData("model.merges", "[\"abc\"]", "model.merges[0]: expected two tokens separated by a space, found \"abc\"")]
    [InlineData("model.merges", "[[\"a\"]]", "model.merges[0]: expected \"left right\" or [\"left\", \"right\"]")]
    [InlineData("model.merges", "[\"a ☃\"]", "model.merges[0]: token \"☃\" is not in model.vocab")]
    [InlineData("model.merges", "[\"q z\"]", "model.merges[0]: merging \"q\" and \"z\" gives \"qz\", which is not in model.vocab")]
    [InlineData("model.dropout", "0.1", "model.dropout: BPE dropout is random")]
    [InlineData("model.unk_token", "\"<unk>\"", "model.unk_token: \"<unk>\" is not in model.vocab")]
    [InlineData("added_tokens", "[{\"content\": \"x\"}]", "added_tokens[0].id: missing")]
    [InlineData("added_tokens", "[{\"id\": -4, \"content\": \"x\"}]", "added_tokens[0].id: expected a token id")]
    [InlineData("normalizer", "{\"type\": \"NFKC\"}", "normalizer.type: normalizer \"NFKC\" is not supported")]
    [InlineData("pre_tokenizer", "{\"type\": \"Metaspace\"}", "pre_tokenizer.type: pre-tokenizer \"Metaspace\" is not supported")]
    [InlineData("pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(?<=a)b\"}, \"behavior\": \"Isolated\"}", "pre_tokenizer.pattern.Regex: unsupported or invalid pattern: look-behind")]
    [InlineData("pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Sideways\"}", "pre_tokenizer.behavior: \"Sideways\" is not one of")]
    [InlineData("post_processor", "{\"type\": \"BertProcessing\"}", "post_processor.type: post-processor \"BertProcessing\" is not supported")]
    [InlineData("decoder", "{\"type\": \"WordPiece\"}", "decoder.type: decoder \"WordPiece\" is not supported")]
    [InlineData("decoder", null, "decoder: missing")]
    public void ABrokenFieldIsNamed(string field, string? replacementJson, string expectedMessage)
    {
        JsonObject tokenizer = TinyTokenizer();
        SetField(tokenizer, field, replacementJson);
        string path = Write("tokenizer.json", tokenizer.ToJsonString());

        var exception = Assert.Throws<TokenizerException>(() => BpeTokenizer.Load(path));

        AssertOneLine(exception, path, expectedMessage);
    }

    [Fact]
    public void ALoneSurrogateEscapeIsAFileError()
    {
        string json = TinyTokenizer().ToJsonString().Replace("\"vocab\":{", "\"vocab\":{\"\\udc00\":600,", StringComparison.Ordinal);
        string path = Write("tokenizer.json", json);

        var exception = Assert.Throws<TokenizerException>(() => BpeTokenizer.Load(path));

        AssertOneLine(exception, path, "a string is not valid text");
    }

    [Fact]
    public void InvalidUtf8IsAFileError()
    {
        string path = Path.Combine(directory, "tokenizer.json");
        File.WriteAllBytes(path, [.. "{\"model\": \""u8, 0xC3, 0x28, .. "\"}"u8]);

        var exception = Assert.Throws<TokenizerException>(() => BpeTokenizer.Load(path));

        AssertOneLine(exception, path, "is not valid UTF-8 (at byte 11)");
    }

    [Fact]
    public void ABrokenConfigIsNamed()
    {
        string tokenizerPath = Write("tokenizer.json", TinyTokenizer().ToJsonString());
        string configPath = Write("tokenizer_config.json", "{\"add_bos_token\": \"yes\"}");

        var exception = Assert.Throws<TokenizerException>(() => BpeTokenizer.Load(tokenizerPath));

        AssertOneLine(exception, configPath, "add_bos_token: expected true or false, found a string");
    }

    [Fact]
    public void AConfigTokenMissingFromTheVocabularyIsNamed()
    {
        string tokenizerPath = Write("tokenizer.json", TinyTokenizer().ToJsonString());
        string configPath = Write("config-elsewhere.json", "{\"bos_token\": {\"content\": \"<s>\"}, \"add_bos_token\": true}");

        var exception = Assert.Throws<TokenizerException>(() => BpeTokenizer.Load(tokenizerPath, configPath));

        AssertOneLine(exception, configPath, "bos_token \"<s>\" is not a token of tokenizer.json");
    }

    [Fact]
    public void AnExplicitConfigThatIsMissingIsNamed()
    {
        string tokenizerPath = Write("tokenizer.json", TinyTokenizer().ToJsonString());
        string configPath = Path.Combine(directory, "nope.json");

        var exception = Assert.Throws<TokenizerException>(() => BpeTokenizer.Load(tokenizerPath, configPath));

        Assert.Equal(configPath + ": tokenizer config not found", exception.Message);
    }

    private static void AssertOneLine(UserInputException exception, string path, string expected)
    {
        Assert.StartsWith(path + ": ", exception.Message, StringComparison.Ordinal);
        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', exception.Message);
    }

    private static JsonObject TinyTokenizer() => JsonNode.Parse(File.ReadAllText(TokenizerFixtures.TinyTokenizerJson))!.AsObject();

    // Sets (or with null removes) a dotted field such as "model.vocab" to the given JSON.
    private static void SetField(JsonObject root, string field, string? json)
    {
        string[] parts = field.Split('.');
        JsonObject parent = root;
        foreach (string part in parts[..^1])
        {
            parent = parent[part]!.AsObject();
        }

        if (json is null)
        {
            parent.Remove(parts[^1]);
        }
        else
        {
            parent[parts[^1]] = JsonNode.Parse(json);
        }
    }

    private string Write(string name, string content)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllText(path, content);
        return path;
    }
}
