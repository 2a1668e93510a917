using System.Text.Json.Nodes;
using KernelSharp.Runtime.Tests.Checkpoints;
using Xunit;

namespace KernelSharp.Runtime.Tests.Config;

/// <summary>config.json parsing: both fixtures, both RoPE spellings, and one error per validation rule naming its key.</summary>
public sealed class ModelConfigTests
{
    private static string FixtureConfigText(string fixture) =>
        File.ReadAllText(Path.Combine(CheckpointTestFiles.FixturesFolder, fixture, "config.json"));

    /// <summary>The bf16 fixture's config with edits applied (null removes a key).</summary>
    private static string Edited(Action<JsonObject> edit, string fixture = "tiny-dsa-bf16")
    {
        JsonObject json = JsonNode.Parse(FixtureConfigText(fixture))!.AsObject();
        edit(json);
        return json.ToJsonString();
    }

    private static ConfigException ParseFails(string json)
    {
        var error = Assert.Throws<ConfigException>(() => ModelConfig.Parse(json, "/models/x/config.json"));
        Assert.Contains("/models/x/config.json", error.Message);
        Assert.DoesNotContain("\n", error.Message);
        return error;
    }

    [Fact]
    public void Bf16_fixture_config_reads_every_dimension()
    {
        ModelConfig config = ModelConfig.Load(Path.Combine(CheckpointTestFiles.TinyBf16, "config.json"));
        Assert.Equal(ModelPresets.Tiny.ToJson(), config.ToJson());
        Assert.Equal(512, config.VocabSize);
        Assert.Equal(64, config.QLoraRank);
        Assert.Equal(RopeConfig.DefaultType, config.Rope.Type);
        Assert.Equal(10000.0, config.Rope.Theta);
        Assert.Null(config.Quantization);
        Assert.Equal(1, config.NumNextnPredictLayers);
        Assert.Equal([1], config.EosTokenIds);
        Assert.Equal(1.0, config.Rope.AttentionScaleMultiplier);
    }

    [Fact]
    public void Fp8_yarn_fixture_config_reads_yarn_and_quantization()
    {
        ModelConfig config = ModelConfig.Load(Path.Combine(CheckpointTestFiles.TinyFp8Yarn, "config.json"));
        Assert.Equal(new RopeConfig("yarn", 10000.0, 40.0, 128, 32.0, 1.0, 1.0, 1.0), config.Rope);
        Assert.Equal(new QuantizationConfig("fp8", "e4m3", 128, 128), config.Quantization);
        double m = (0.1 * Math.Log(40.0)) + 1.0;
        Assert.Equal(m * m, config.Rope.AttentionScaleMultiplier, 12);
    }

    [Fact]
    public void Transformers5_rope_parameters_spelling_reads_the_same_as_the_hub_spelling()
    {
        ModelConfig hub = ModelConfig.Parse(FixtureConfigText("tiny-dsa-fp8-yarn"), "hub");
        string v5 = Edited(
            json =>
            {
                json.Remove("rope_scaling");
                json.Remove("rope_theta");
                json["rope_parameters"] = new JsonObject
                {
                    ["rope_type"] = "yarn",
                    ["rope_theta"] = 10000.0,
                    ["factor"] = 40.0,
                    ["original_max_position_embeddings"] = 128,
                    ["beta_fast"] = 32.0,
                    ["beta_slow"] = 1.0,
                    ["mscale"] = 1.0,
                    ["mscale_all_dim"] = 1.0,
                };
            },
            "tiny-dsa-fp8-yarn");
        ModelConfig parsed = ModelConfig.Parse(v5, "v5");
        Assert.Equal(hub.Rope, parsed.Rope);
        Assert.Equal(hub.ToJson(), parsed.ToJson());
    }

    [Theory]
    [InlineData("{\"rope_type\": \"default\", \"rope_theta\": 50000.0}", 50000.0)]
    [InlineData("{\"type\": \"default\"}", 10000.0)]
    [InlineData("null", 10000.0)]
    public void Plain_rope_spellings(string ropeJson, double theta)
    {
        string key = ropeJson.Contains("rope_type", StringComparison.Ordinal) ? "rope_parameters" : "rope_scaling";
        ModelConfig config = ModelConfig.Parse(Edited(json => json[key] = JsonNode.Parse(ropeJson)), "c");
        Assert.Equal(RopeConfig.Plain(theta, 4096), config.Rope);
    }

    [Fact]
    public void Eos_token_id_may_be_a_list_and_q_lora_rank_null()
    {
        ModelConfig config = ModelConfig.Parse(
            Edited(json =>
            {
                json["eos_token_id"] = new JsonArray(1, 2);
                json["q_lora_rank"] = null;
            }),
            "c");
        Assert.Equal([1, 2], config.EosTokenIds);
        Assert.Null(config.QLoraRank);
        ModelConfig again = ModelConfig.Parse(config.ToJson(), "again");
        Assert.Equal(config.ToJson(), again.ToJson());
        Assert.Contains(CheckpointLayout.For(config), t => t.Name == "model.layers.0.self_attn.q_proj.weight");
    }

    [Fact]
    public void Presets_round_trip_through_json()
    {
        foreach (string name in ModelPresets.Names)
        {
            ModelConfig preset = ModelPresets.Get(name);
            ModelConfig parsed = ModelConfig.Parse(preset.ToJson(), name);
            Assert.Equal(preset with { EosTokenIds = parsed.EosTokenIds }, parsed);
        }

        Assert.Throws<UserInputException>(() => ModelPresets.Get("gpt-5"));
    }

    [Fact]
    public void Mid_5b_preset_has_the_requested_size()
    {
        ModelConfig mid = ModelPresets.Get("mid-5b");
        long parameters = CheckpointLayout.For(mid).Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
        Assert.InRange(parameters, 4_500_000_000L, 6_000_000_000L);
        Assert.Equal(new RopeConfig("yarn", 10000.0, 40.0, 4096, 32.0, 1.0, 1.0, 1.0), mid.Rope);
        Assert.Equal(163840, mid.MaxPositionEmbeddings);
        Assert.Equal(8, mid.ExpertsPerGroup);
    }

    [Fact]
    public void Real_model_preset_matches_DSA_doc()
    {
        ModelConfig real = ModelPresets.DeepSeekV32;
        long parameters = CheckpointLayout.For(real).Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
        Assert.InRange(parameters, 660_000_000_000L, 690_000_000_000L); // "671B" includes the MTP layer
        Assert.Equal(QuantizationConfig.Fp8Blocks128, real.Quantization);
    }

    [Theory]
    [InlineData("hidden_size")]
    [InlineData("num_hidden_layers")]
    [InlineData("kv_lora_rank")]
    [InlineData("index_topk")]
    [InlineData("n_routed_experts")]
    [InlineData("q_lora_rank")]
    [InlineData("routed_scaling_factor")]
    public void Missing_key_is_named(string key)
    {
        ConfigException error = ParseFails(Edited(json => json.Remove(key)));
        Assert.Contains($"'{key}' is missing", error.Message);
    }

    [Theory]
    [InlineData("hidden_size", "\"128\"", "must be an integer")]
    [InlineData("hidden_size", "128.5", "must be an integer")]
    [InlineData("vocab_size", "1e12", "must be an integer")]
    [InlineData("norm_topk_prob", "1", "must be true or false")]
    [InlineData("rms_norm_eps", "\"small\"", "must be a finite number")]
    [InlineData("rope_scaling", "[1, 2]", "must be an object or null")]
    [InlineData("eos_token_id", "[\"a\"]", "must be an integer")]
    [InlineData("hidden_size", "null", "is null")]
    public void Wrong_json_type_is_named(string key, string valueJson, string expected)
    {
        ConfigException error = ParseFails(Edited(json => json[key] = JsonNode.Parse(valueJson)));
        Assert.Contains($"'{key}'", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("hidden_size", 0, "positive")]
    [InlineData("num_attention_heads", -4, "positive")]
    [InlineData("n_group", 3, "must divide n_routed_experts")]
    [InlineData("topk_group", 5, "at most n_group")]
    [InlineData("num_experts_per_tok", 17, "at most n_routed_experts")]
    [InlineData("num_experts_per_tok", 9, "kept groups hold only")]
    [InlineData("index_head_dim", 8, "at least qk_rope_head_dim")]
    [InlineData("qk_rope_head_dim", 15, "even")]
    [InlineData("first_k_dense_replace", 4, "more than num_hidden_layers")]
    [InlineData("bos_token_id", 512, "token id")]
    [InlineData("eos_token_id", -1, "token ids")]
    [InlineData("q_lora_rank", 0, "positive")]
    public void Inconsistent_value_is_named(string key, int value, string expected)
    {
        ConfigException error = ParseFails(Edited(json => json[key] = value));
        Assert.Contains($"'{key}'", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("{\"type\": \"linear\", \"factor\": 2.0}", "'rope_scaling.type'", "unknown RoPE type")]
    [InlineData("{\"type\": \"yarn\", \"original_max_position_embeddings\": 128}", "'rope_scaling.factor'", "missing")]
    [InlineData("{\"type\": \"yarn\", \"factor\": 40.0}", "'rope_scaling.original_max_position_embeddings'", "missing")]
    [InlineData("{\"type\": \"yarn\", \"factor\": 0.5, \"original_max_position_embeddings\": 128}", "'rope_scaling.factor'", "at least 1")]
    [InlineData("{\"type\": 3}", "'rope_scaling.type'", "must be a string")]
    public void Bad_rope_scaling_is_named(string ropeJson, string key, string expected)
    {
        ConfigException error = ParseFails(Edited(json => json["rope_scaling"] = JsonNode.Parse(ropeJson)));
        Assert.Contains(key, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("{\"quant_method\": \"int4\"}", "'quantization_config.quant_method'")]
    [InlineData("{\"quant_method\": \"fp8\", \"fmt\": \"e5m2\"}", "'quantization_config.fmt'")]
    [InlineData("{\"quant_method\": \"fp8\", \"weight_block_size\": [128]}", "'quantization_config.weight_block_size'")]
    [InlineData("{\"quant_method\": \"fp8\", \"weight_block_size\": [0, 128]}", "'quantization_config.weight_block_size'")]
    public void Bad_quantization_config_is_named(string quantJson, string key)
    {
        ConfigException error = ParseFails(Edited(json => json["quantization_config"] = JsonNode.Parse(quantJson)));
        Assert.Contains(key, error.Message);
    }

    [Theory]
    [InlineData("hidden_act", "\"gelu\"", "only 'silu'")]
    [InlineData("scoring_func", "\"softmax\"", "only 'sigmoid'")]
    [InlineData("topk_method", "\"greedy\"", "only 'noaux_tc'")]
    [InlineData("moe_layer_freq", "2", "must be 1")]
    [InlineData("attention_bias", "true", "no bias tensors")]
    public void Settings_outside_the_family_are_refused(string key, string valueJson, string expected)
    {
        ConfigException error = ParseFails(Edited(json => json[key] = JsonNode.Parse(valueJson)));
        Assert.Contains($"'{key}'", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void DeepSeek_V3_config_without_the_indexer_is_named_by_model_type()
    {
        ConfigException error = ParseFails(Edited(json =>
        {
            json["model_type"] = "deepseek_v3";
            json.Remove("index_n_heads");
            json.Remove("index_head_dim");
            json.Remove("index_topk");
        }));
        Assert.Contains("'model_type' is 'deepseek_v3'; expected 'deepseek_v32'", error.Message);
    }

    [Fact]
    public void Quantization_block_size_other_than_128_is_kept()
    {
        ModelConfig config = ModelConfig.Parse(
            Edited(json => json["quantization_config"] = JsonNode.Parse("{\"quant_method\": \"fp8\", \"fmt\": \"e4m3\", \"weight_block_size\": [64, 32]}")),
            "c");
        Assert.Equal(new QuantizationConfig("fp8", "e4m3", 64, 32), config.Quantization);
    }

    [Theory]
    [InlineData("", "line 1")]
    [InlineData("{\n  \"vocab_size\": 512,\n  \"hidden_size\": ,\n}", "line 3")]
    [InlineData("{\"vocab_size\": 512", "line 1")]
    [InlineData("not json at all", "line 1, position")]
    public void Text_that_is_not_json_reports_line_and_position(string text, string where)
    {
        ConfigException error = ParseFails(text);
        Assert.Contains("not valid JSON", error.Message);
        Assert.Contains(where, error.Message);
    }

    [Fact]
    public void Escaped_lone_surrogate_is_a_config_error()
    {
        string text = FixtureConfigText("tiny-dsa-fp8-yarn").Replace("\"type\": \"yarn\"", "\"type\": \"\\ud800\"", StringComparison.Ordinal);
        Assert.Contains("\\ud800", text);
        Assert.Contains("not valid text", ParseFails(text).Message);
    }

    [Fact]
    public void Top_level_array_is_rejected()
    {
        ConfigException error = ParseFails("[1, 2, 3]");
        Assert.Contains("JSON object", error.Message);
    }

    [Fact]
    public void Missing_config_file_is_a_config_error_naming_it()
    {
        string path = Path.Combine(Path.GetTempPath(), "ks-no-such-folder-" + Guid.NewGuid().ToString("N"), "config.json");
        var error = Assert.Throws<ConfigException>(() => ModelConfig.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("file not found", error.Message);
        error = Assert.Throws<ConfigException>(() => ModelConfig.Load(CheckpointTestFiles.TinyBf16)); // a folder, not the file
        Assert.Contains("is a folder; expected the model config itself", error.Message);
    }
}
