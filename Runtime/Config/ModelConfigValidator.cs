namespace KernelSharp.Runtime;

/// <summary>
/// The rules a DeepSeek-V3.2 config must satisfy for the model to be computable. Each violation is a
/// <see cref="ConfigException"/> naming the file and the key (as spelled in config.json) and what was expected.
/// </summary>
public static class ModelConfigValidator
{
    /// <summary>
    /// What the runtime needs beyond a well-formed config to run it (the parser also describes DeepSeek-V3-family
    /// configs that the DSA model cannot run). create-model checks it so that it never writes a model that loading
    /// refuses.
    /// </summary>
    public static void ValidateRunnable(ModelConfig config, string sourceName)
    {
        Validate(config, sourceName);
        if (config.QLoraRank is null)
        {
            Fail(sourceName, "q_lora_rank", "is null; DeepSeek-V3.2 (DSA) models need it, because the indexer reads the query latent");
        }
    }

    public static void Validate(ModelConfig config, string sourceName)
    {
        Positive(sourceName, "vocab_size", config.VocabSize);
        Positive(sourceName, "hidden_size", config.HiddenSize);
        Positive(sourceName, "num_hidden_layers", config.NumHiddenLayers);
        Positive(sourceName, "intermediate_size", config.IntermediateSize);
        Positive(sourceName, "num_attention_heads", config.NumAttentionHeads);
        if (config.QLoraRank is int qLora)
        {
            Positive(sourceName, "q_lora_rank", qLora);
        }

        Positive(sourceName, "kv_lora_rank", config.KvLoraRank);
        Positive(sourceName, "qk_nope_head_dim", config.QkNopeHeadDim);
        Positive(sourceName, "qk_rope_head_dim", config.QkRopeHeadDim);
        Positive(sourceName, "v_head_dim", config.VHeadDim);
        Positive(sourceName, "index_n_heads", config.IndexNHeads);
        Positive(sourceName, "index_head_dim", config.IndexHeadDim);
        Positive(sourceName, "index_topk", config.IndexTopk);
        Positive(sourceName, "moe_intermediate_size", config.MoeIntermediateSize);
        Positive(sourceName, "n_routed_experts", config.NRoutedExperts);
        Positive(sourceName, "num_experts_per_tok", config.NumExpertsPerTok);
        Positive(sourceName, "n_group", config.NGroup);
        Positive(sourceName, "topk_group", config.TopkGroup);
        Positive(sourceName, "max_position_embeddings", config.MaxPositionEmbeddings);
        NotNegative(sourceName, "n_shared_experts", config.NSharedExperts);
        NotNegative(sourceName, "first_k_dense_replace", config.FirstKDenseReplace);
        NotNegative(sourceName, "num_nextn_predict_layers", config.NumNextnPredictLayers);

        if (config.FirstKDenseReplace > config.NumHiddenLayers)
        {
            Fail(sourceName, "first_k_dense_replace", $"is {config.FirstKDenseReplace}, more than num_hidden_layers ({config.NumHiddenLayers})");
        }

        // RoPE rotates pairs of values (interleaved in MLA, half-split in the indexer): the rope width must be even.
        if (config.QkRopeHeadDim % 2 != 0)
        {
            Fail(sourceName, "qk_rope_head_dim", $"is {config.QkRopeHeadDim}; RoPE needs an even number of dimensions");
        }

        // The indexer splits each head into [rope ‖ nope] with the same rope width as MLA.
        if (config.IndexHeadDim < config.QkRopeHeadDim)
        {
            Fail(sourceName, "index_head_dim", $"is {config.IndexHeadDim}; it must be at least qk_rope_head_dim ({config.QkRopeHeadDim})");
        }

        if (config.NRoutedExperts % config.NGroup != 0)
        {
            Fail(sourceName, "n_group", $"is {config.NGroup}; it must divide n_routed_experts ({config.NRoutedExperts})");
        }

        if (config.TopkGroup > config.NGroup)
        {
            Fail(sourceName, "topk_group", $"is {config.TopkGroup}; it must be at most n_group ({config.NGroup})");
        }

        if (config.NumExpertsPerTok > config.NRoutedExperts)
        {
            Fail(sourceName, "num_experts_per_tok", $"is {config.NumExpertsPerTok}; it must be at most n_routed_experts ({config.NRoutedExperts})");
        }

        long reachable = (long)config.TopkGroup * (config.NRoutedExperts / config.NGroup);
        if (config.NumExpertsPerTok > reachable)
        {
            Fail(sourceName, "num_experts_per_tok", $"is {config.NumExpertsPerTok}; the kept groups hold only topk_group × n_routed_experts/n_group = {reachable} experts");
        }

        if (config.RmsNormEps <= 0 || !double.IsFinite(config.RmsNormEps))
        {
            Fail(sourceName, "rms_norm_eps", $"must be a positive number, got {config.RmsNormEps}");
        }

        if (!double.IsFinite(config.RoutedScalingFactor) || config.RoutedScalingFactor <= 0)
        {
            Fail(sourceName, "routed_scaling_factor", $"must be a positive number, got {config.RoutedScalingFactor}");
        }

        if (config.BosTokenId < 0 || config.BosTokenId >= config.VocabSize)
        {
            Fail(sourceName, "bos_token_id", $"is {config.BosTokenId}; expected a token id in [0, {config.VocabSize})");
        }

        foreach (int eos in config.EosTokenIds)
        {
            if (eos < 0 || eos >= config.VocabSize)
            {
                Fail(sourceName, "eos_token_id", $"contains {eos}; expected token ids in [0, {config.VocabSize})");
            }
        }

        if (config.Rope.Type is not (RopeConfig.DefaultType or RopeConfig.YarnType))
        {
            Fail(sourceName, "rope_scaling", $"has type '{config.Rope.Type}', an unknown RoPE type; supported: default, yarn");
        }
    }

    private static void Positive(string sourceName, string key, int value)
    {
        if (value <= 0)
        {
            Fail(sourceName, key, $"must be a positive integer, got {value}");
        }
    }

    private static void NotNegative(string sourceName, string key, int value)
    {
        if (value < 0)
        {
            Fail(sourceName, key, $"must be zero or a positive integer, got {value}");
        }
    }

    private static void Fail(string sourceName, string key, string problem) =>
        throw new ConfigException($"{sourceName}: '{key}' {problem}");
}
