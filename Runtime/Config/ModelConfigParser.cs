using System.Text.Json;

namespace KernelSharp.Runtime;

/// <summary>
/// Reads a DeepSeek-V3.2 family <c>config.json</c> (Hub spelling or transformers 5's <c>rope_parameters</c>) into a
/// <see cref="ModelConfig"/>, then validates it. Structural sizes are required; settings with a well-known Hugging Face
/// default (eps, bos/eos, tie, norm_topk_prob, rope_theta) may be absent.
/// </summary>
internal static class ModelConfigParser
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    public static ModelConfig Parse(string json, string sourceName)
    {
        using JsonDocument document = ParseDocument(json, sourceName);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new ConfigException($"{sourceName}: expected a JSON object at the top level, got {ConfigJsonObject.Describe(document.RootElement)}");
        }

        try
        {
            return Read(new ConfigJsonObject(document.RootElement, sourceName, ""), sourceName);
        }
        catch (InvalidOperationException e)
        {
            // An escaped lone surrogate ("\ud800") is valid JSON but not a valid .NET string.
            throw new ConfigException($"{sourceName}: holds a string that is not valid text ({e.Message})", e);
        }
    }

    private static ModelConfig Read(ConfigJsonObject keys, string sourceName)
    {
        CheckFamily(keys);
        int maxPositions = keys.RequiredInt("max_position_embeddings");
        var config = new ModelConfig
        {
            VocabSize = keys.RequiredInt("vocab_size"),
            HiddenSize = keys.RequiredInt("hidden_size"),
            NumHiddenLayers = keys.RequiredInt("num_hidden_layers"),
            FirstKDenseReplace = keys.RequiredInt("first_k_dense_replace"),
            IntermediateSize = keys.RequiredInt("intermediate_size"),
            RmsNormEps = keys.OptionalDouble("rms_norm_eps", 1e-6),
            TieWordEmbeddings = keys.OptionalBool("tie_word_embeddings", false),
            NumAttentionHeads = keys.RequiredInt("num_attention_heads"),
            QLoraRank = keys.RequiredNullableInt("q_lora_rank"),
            KvLoraRank = keys.RequiredInt("kv_lora_rank"),
            QkNopeHeadDim = keys.RequiredInt("qk_nope_head_dim"),
            QkRopeHeadDim = keys.RequiredInt("qk_rope_head_dim"),
            VHeadDim = keys.RequiredInt("v_head_dim"),
            IndexNHeads = keys.RequiredInt("index_n_heads"),
            IndexHeadDim = keys.RequiredInt("index_head_dim"),
            IndexTopk = keys.RequiredInt("index_topk"),
            MoeIntermediateSize = keys.RequiredInt("moe_intermediate_size"),
            NRoutedExperts = keys.RequiredInt("n_routed_experts"),
            NSharedExperts = keys.RequiredInt("n_shared_experts"),
            NumExpertsPerTok = keys.RequiredInt("num_experts_per_tok"),
            NGroup = keys.RequiredInt("n_group"),
            TopkGroup = keys.RequiredInt("topk_group"),
            NormTopkProb = keys.OptionalBool("norm_topk_prob", true),
            RoutedScalingFactor = keys.RequiredDouble("routed_scaling_factor"),
            MaxPositionEmbeddings = maxPositions,
            Rope = ReadRope(keys, maxPositions),
            BosTokenId = keys.OptionalInt("bos_token_id", 0),
            EosTokenIds = keys.IntOrIntList("eos_token_id", [1]),
            Quantization = ReadQuantization(keys),
            NumNextnPredictLayers = keys.OptionalInt("num_nextn_predict_layers", 0),
        };
        ModelConfigValidator.Validate(config, sourceName);
        return config;
    }

    /// <summary>
    /// Settings this runtime does not store because the DeepSeek-V3.2 family fixes them; a config asking for something
    /// else would otherwise be computed silently wrong, so each is checked here.
    /// </summary>
    private static readonly (string Key, string Value)[] FixedSettings =
    [
        ("hidden_act", "silu"),
        ("scoring_func", "sigmoid"),
        ("topk_method", "noaux_tc"),
    ];

    private static void CheckFamily(ConfigJsonObject keys)
    {
        string? modelType = keys.OptionalString("model_type");
        if (modelType is not null && modelType != "deepseek_v32" && !keys.Has("index_n_heads"))
        {
            throw keys.Error("model_type", $"is '{modelType}'; expected 'deepseek_v32' (DeepSeek-V3.2 with the DSA lightning indexer)");
        }

        foreach ((string key, string value) in FixedSettings)
        {
            string? given = keys.OptionalString(key);
            if (given is not null && given != value)
            {
                throw keys.Error(key, $"is '{given}'; this runtime supports only '{value}' (the DeepSeek-V3.2 setting)");
            }
        }

        if (keys.OptionalInt("moe_layer_freq", 1) != 1)
        {
            throw keys.Error("moe_layer_freq", "must be 1: every layer from first_k_dense_replace on is an MoE layer");
        }

        if (keys.OptionalBool("attention_bias", false))
        {
            throw keys.Error("attention_bias", "is true; DeepSeek-V3.2 attention has no bias tensors and this runtime does not read them");
        }
    }

    private static JsonDocument ParseDocument(string json, string sourceName)
    {
        try
        {
            return JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{sourceName}: not valid JSON{JsonErrorText.Describe(e)}", e);
        }
    }

    /// <summary>
    /// RoPE from either spelling: transformers 5's <c>rope_parameters</c> {rope_type, rope_theta, factor, ...}, or
    /// <c>rope_scaling</c> {type|rope_type, factor, ...} with a top-level <c>rope_theta</c>. Null, absent, or type
    /// "default" means plain RoPE.
    /// </summary>
    private static RopeConfig ReadRope(ConfigJsonObject keys, int maxPositions)
    {
        double topLevelTheta = keys.OptionalDouble("rope_theta", 10000.0);
        ConfigJsonObject? scaling = keys.OptionalObject("rope_parameters") ?? keys.OptionalObject("rope_scaling");
        if (scaling is not ConfigJsonObject rope)
        {
            return CheckTheta(keys, "rope_theta", RopeConfig.Plain(topLevelTheta, maxPositions));
        }

        string typeKey = rope.Has("rope_type") ? "rope_type" : "type";
        string type = rope.OptionalString(typeKey) ?? RopeConfig.DefaultType;
        double theta = rope.OptionalDouble("rope_theta", topLevelTheta);
        string thetaKey = rope.Has("rope_theta") ? rope.FullKey("rope_theta") : "rope_theta";
        switch (type)
        {
            case RopeConfig.DefaultType:
                return CheckTheta(keys, thetaKey, RopeConfig.Plain(theta, maxPositions));
            case RopeConfig.YarnType:
                var yarn = new RopeConfig(
                    RopeConfig.YarnType,
                    theta,
                    rope.RequiredDouble("factor"),
                    rope.RequiredInt("original_max_position_embeddings"),
                    rope.OptionalDouble("beta_fast", 32.0),
                    rope.OptionalDouble("beta_slow", 1.0),
                    rope.OptionalDouble("mscale", 0.0),
                    rope.OptionalDouble("mscale_all_dim", 0.0));
                if (yarn.Factor < 1.0)
                {
                    throw rope.Error("factor", $"must be at least 1 for YaRN, got {yarn.Factor}");
                }

                if (yarn.OriginalMaxPositionEmbeddings <= 0)
                {
                    throw rope.Error("original_max_position_embeddings", $"must be a positive integer, got {yarn.OriginalMaxPositionEmbeddings}");
                }

                if (yarn.BetaFast <= 0 || yarn.BetaSlow <= 0)
                {
                    throw rope.Error(yarn.BetaFast <= 0 ? "beta_fast" : "beta_slow", "must be positive");
                }

                return CheckTheta(keys, thetaKey, yarn);
            default:
                throw rope.Error(typeKey, $"is '{type}', an unknown RoPE type; supported: default, yarn");
        }
    }

    private static RopeConfig CheckTheta(ConfigJsonObject keys, string thetaKey, RopeConfig rope) =>
        rope.Theta > 1.0 ? rope : throw new ConfigException($"{keys.SourceName}: '{thetaKey}' must be greater than 1, got {rope.Theta}");

    private static QuantizationConfig? ReadQuantization(ConfigJsonObject keys)
    {
        if (keys.OptionalObject("quantization_config") is not ConfigJsonObject quant)
        {
            return null;
        }

        string method = quant.OptionalString("quant_method") ?? throw quant.Error("quant_method", "is missing (\"fp8\")");
        if (method != QuantizationConfig.Fp8Method)
        {
            throw quant.Error("quant_method", $"is '{method}'; only fp8 block quantization is supported");
        }

        string format = quant.OptionalString("fmt") ?? QuantizationConfig.E4M3Format;
        if (format != QuantizationConfig.E4M3Format)
        {
            throw quant.Error("fmt", $"is '{format}'; only e4m3 is supported");
        }

        int[] block = quant.Has("weight_block_size") ? quant.IntArray("weight_block_size", 2) : [128, 128];
        if (block[0] <= 0 || block[1] <= 0)
        {
            throw quant.Error("weight_block_size", $"must be two positive integers, got [{block[0]}, {block[1]}]");
        }

        return new QuantizationConfig(method, format, block[0], block[1]);
    }
}
