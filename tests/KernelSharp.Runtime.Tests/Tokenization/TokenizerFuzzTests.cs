using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using KernelSharp.Runtime.Tokenization;
using Xunit;
using Xunit.Abstractions;

namespace KernelSharp.Runtime.Tests.Tokenization;

/// <summary>
/// Mutation fuzzing of the loader: truncated, byte-mutated and structurally mutated tokenizer.json files (the tiny
/// tokenizer with DeepSeek's regex pre-tokenizer, so patterns get mutated too) must either load into a tokenizer that
/// encodes and decodes, or fail with a <see cref="UserInputException"/> — never another exception or a hang.
/// Deterministic seeds, bounded in time.
/// </summary>
public sealed class TokenizerFuzzTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(6);
    private static readonly string[] SampleTexts = ["Hello, world! 123", "a😀b 👨‍👩‍👧 深度求索 かな", "<｜User｜>hi<｜Assistant｜>\r\n\t x"];

    private readonly string directory = Directory.CreateTempSubdirectory("ks-tokenizer-fuzz-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void MutatedTokenizerFilesLoadOrFailCleanly()
    {
        string baseJson = FuzzBase();
        byte[] baseBytes = Encoding.UTF8.GetBytes(baseJson);
        string path = Path.Combine(directory, "tokenizer.json");
        var random = new Random(20261129);
        var watch = Stopwatch.StartNew();
        int loaded = 0, rejected = 0, iteration = 0;
        for (; watch.Elapsed < Budget && iteration < 5000; iteration++)
        {
            int kind = iteration % 5;
            byte[] mutated = kind switch
            {
                0 => baseBytes[..random.Next(baseBytes.Length)],
                1 => FlipBytes(baseBytes, random),
                2 => SpliceSpans(baseBytes, random),
                3 => InsertEscape(baseBytes, random),
                _ => Encoding.UTF8.GetBytes(MutateStructure(baseJson, random)),
            };
            File.WriteAllBytes(path, mutated);

            var attempt = Stopwatch.StartNew();
            try
            {
                BpeTokenizer tokenizer = BpeTokenizer.Load(path, tokenizerConfigPath: null);
                foreach (string text in SampleTexts)
                {
                    int[] ids = tokenizer.Encode(text, addSpecialTokens: true);
                    tokenizer.Decode(ids);
                }

                loaded++;
            }
            catch (UserInputException exception)
            {
                Assert.DoesNotContain('\n', exception.Message);
                Assert.StartsWith(path, exception.Message, StringComparison.Ordinal);
                rejected++;
            }
            catch (Exception exception)
            {
                Assert.Fail($"iteration {iteration} (mutation kind {kind}) threw {exception.GetType().Name}: {exception.Message}\n{exception.StackTrace}");
            }

            Assert.True(attempt.Elapsed < TimeSpan.FromSeconds(3), $"iteration {iteration} took {attempt.Elapsed.TotalSeconds:F1} s");
        }

        output.WriteLine($"{iteration} mutated files: {loaded} loaded and worked, {rejected} rejected with a one-line message");
        Assert.True(loaded > 0 && rejected > 0);
    }

    [Fact]
    public void MutatedConfigFilesLoadOrFailCleanly()
    {
        string tokenizerPath = Path.Combine(directory, "tokenizer.json");
        File.Copy(TokenizerFixtures.TinyTokenizerJson, tokenizerPath);
        string configPath = Path.Combine(directory, "tokenizer_config.json");
        string baseConfig = File.ReadAllText(Path.Combine(TokenizerFixtures.TinyDirectory, "tokenizer_config.json"));
        var random = new Random(7);
        for (int iteration = 0; iteration < 400; iteration++)
        {
            File.WriteAllText(configPath, iteration % 2 == 0 ? baseConfig[..random.Next(baseConfig.Length)] : MutateStructure(baseConfig, random));
            try
            {
                BpeTokenizer.Load(tokenizerPath).Encode("hi", addSpecialTokens: true);
            }
            catch (UserInputException exception)
            {
                Assert.StartsWith(configPath, exception.Message, StringComparison.Ordinal);
            }
        }
    }

    // The tiny tokenizer with the real DeepSeek pre-tokenizer (three Split regexes and ByteLevel).
    private static string FuzzBase()
    {
        JsonObject tiny = JsonNode.Parse(File.ReadAllText(TokenizerFixtures.TinyTokenizerJson))!.AsObject();
        using var stream = File.OpenRead(TokenizerFixtures.DeepSeekTokenizerJson);
        JsonNode deepSeek = JsonNode.Parse(stream)!;
        tiny["pre_tokenizer"] = deepSeek["pre_tokenizer"]!.DeepClone();
        return tiny.ToJsonString();
    }

    private static byte[] FlipBytes(byte[] source, Random random)
    {
        byte[] interesting = "{}[]\":,\\0-9a \u00ff"u8.ToArray();
        byte[] copy = (byte[])source.Clone();
        for (int i = random.Next(1, 4); i > 0; i--)
        {
            copy[random.Next(copy.Length)] = random.Next(3) == 0 ? (byte)random.Next(256) : interesting[random.Next(interesting.Length)];
        }

        return copy;
    }

    // JSON escapes that are valid syntax but may not make valid text (lone surrogates) or change a token's content.
    private static byte[] InsertEscape(byte[] source, Random random)
    {
        string[] escapes = [@"\ud800", @"\udc00", @"\u0000", @"\ud83d\ude00", @"\n", @"\""", @"\\"];
        int at = random.Next(source.Length);
        return [.. source[..at], .. Encoding.UTF8.GetBytes(escapes[random.Next(escapes.Length)]), .. source[at..]];
    }

    private static byte[] SpliceSpans(byte[] source, Random random)
    {
        int start = random.Next(source.Length);
        int length = random.Next(1, 40);
        var result = new List<byte>(source);
        if (random.Next(2) == 0)
        {
            result.RemoveRange(start, Math.Min(length, source.Length - start));
        }
        else
        {
            result.InsertRange(random.Next(source.Length), source.Skip(start).Take(length));
        }

        return [.. result];
    }

    // Replaces one random node (value, array element or object member) with a value of another kind, or removes it.
    private static string MutateStructure(string json, Random random)
    {
        JsonNode root = JsonNode.Parse(json)!;
        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        JsonNode target = nodes[random.Next(nodes.Count)];
        JsonNode?[] replacements =
        [
            null, JsonValue.Create(-1), JsonValue.Create(0), JsonValue.Create(7), JsonValue.Create(1e30), JsonValue.Create(2147483648L),
            JsonValue.Create("x"), JsonValue.Create(""), JsonValue.Create("(?<=a)"), JsonValue.Create("[\\p{L}"), JsonValue.Create(true),
            new JsonArray(), new JsonObject(), new JsonArray(JsonValue.Create("a"), JsonValue.Create("b")),
        ];
        JsonNode? replacement = replacements[random.Next(replacements.Length)]?.DeepClone();
        switch (target.Parent)
        {
            case JsonObject parent:
                string name = target.GetPropertyName();
                if (random.Next(4) == 0)
                {
                    parent.Remove(name);
                }
                else
                {
                    parent[name] = replacement;
                }

                break;
            case JsonArray array:
                int index = target.GetElementIndex();
                if (random.Next(4) == 0)
                {
                    array.RemoveAt(index);
                }
                else
                {
                    array[index] = replacement;
                }

                break;
            default:
                return "null";
        }

        return root.ToJsonString();
    }

    private static void Collect(JsonNode? node, List<JsonNode> nodes)
    {
        if (node is null)
        {
            return;
        }

        nodes.Add(node);
        if (node is JsonObject obj)
        {
            foreach (KeyValuePair<string, JsonNode?> member in obj)
            {
                Collect(member.Value, nodes);
            }
        }
        else if (node is JsonArray array)
        {
            foreach (JsonNode? item in array)
            {
                Collect(item, nodes);
            }
        }
    }
}
