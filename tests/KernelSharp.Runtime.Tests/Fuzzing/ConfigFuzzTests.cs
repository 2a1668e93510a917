using System.Text;
using System.Text.Json.Nodes;
using KernelSharp.Runtime.Tests.Checkpoints;
using Xunit;

namespace KernelSharp.Runtime.Tests.Fuzzing;

/// <summary>Mutated config.json text and values parse to a valid config or fail with a <see cref="ConfigException"/>.</summary>
public sealed class ConfigFuzzTests
{

    private static readonly string[] ConfigTexts =
    [
        File.ReadAllText(Path.Combine(CheckpointTestFiles.TinyBf16, "config.json")),
        File.ReadAllText(Path.Combine(CheckpointTestFiles.TinyFp8Yarn, "config.json")),
    ];

    private static readonly string[] Values =
        ["0", "-1", "1", "3", "7", "16", "1e9", "2147483648", "0.5", "1e-300", "1e400", "null", "true", "\"yarn\"", "\"default\"", "\"\"", "[]", "[1,2]", "{}", "{\"type\":\"yarn\"}", "[[[]]]"];

    // Escaped lone surrogates are valid JSON but not valid strings; JsonNode cannot even write them, so only text mutations use them.
    private static readonly string[] TextValues = [.. Values, "\"\\ud800\"", "{\"rope_type\":\"\\udfff\"}"];

    private static bool ParsesOrRejects(string json, string description) =>
        FuzzBudget.AcceptsOrRejectsCleanly(
            () =>
            {
                ModelConfig config = ModelConfig.Parse(json, "fuzz/config.json");
                // Whatever was accepted must also survive a write/read round trip.
                Assert.Equal(config.ToJson(), ModelConfig.Parse(config.ToJson(), "round-trip").ToJson());
            },
            description);

    [Fact]
    public void Text_mutations()
    {
        string[] replacements = TextValues;
        int accepted = 0;
        int runs = FuzzBudget.Run(606, 5000, FuzzBudget.MaxTime, (random, i) =>
        {
            string text = ConfigTexts[random.Next(ConfigTexts.Length)];
            for (int m = random.Next(1, 4); m > 0; m--)
            {
                text = SafeTensorsFuzzTests.MutateJsonText(text, random, replacements);
            }

            accepted += ParsesOrRejects(text, $"text mutation {i}: {text}") ? 1 : 0;
        });
        Assert.True(runs >= 10, $"only {runs} iterations ran");
        FuzzBudget.BothOutcomesSeen(accepted, runs);
    }

    [Fact]
    public void Byte_flips_and_truncations()
    {
        int accepted = 0;
        int runs = FuzzBudget.Run(707, 5000, FuzzBudget.MaxTime, (random, i) =>
        {
            byte[] bytes = Encoding.UTF8.GetBytes(ConfigTexts[random.Next(ConfigTexts.Length)]);
            if (random.Next(2) == 0)
            {
                bytes = bytes[..random.Next(bytes.Length)];
            }
            else
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            accepted += ParsesOrRejects(Encoding.UTF8.GetString(bytes), $"byte mutation {i}") ? 1 : 0;
        });
        Assert.True(runs >= 10, $"only {runs} iterations ran");
        FuzzBudget.BothOutcomesSeen(accepted, runs);
    }

    [Fact]
    public void Key_value_mutations_keep_json_well_formed()
    {
        int accepted = 0;
        int runs = FuzzBudget.Run(808, 5000, FuzzBudget.MaxTime, (random, i) =>
        {
            JsonObject json = JsonNode.Parse(ConfigTexts[random.Next(ConfigTexts.Length)])!.AsObject();
            var keys = json.Select(p => p.Key).ToList();
            for (int m = random.Next(1, 4); m > 0; m--)
            {
                string key = keys[random.Next(keys.Count)];
                if (random.Next(4) == 0)
                {
                    json.Remove(key);
                }
                else
                {
                    json[key] = JsonNode.Parse(Values[random.Next(Values.Length)]);
                }
            }

            string text = json.ToJsonString();
            accepted += ParsesOrRejects(text, $"key mutation {i}: {text}") ? 1 : 0;
        });
        Assert.True(runs >= 10, $"only {runs} iterations ran");
        FuzzBudget.BothOutcomesSeen(accepted, runs);
    }
}
