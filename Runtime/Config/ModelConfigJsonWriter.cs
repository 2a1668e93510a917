using System.Text;
using System.Text.Json;

namespace KernelSharp.Runtime;

/// <summary>
/// Writes a <see cref="ModelConfig"/> as a Hugging Face Hub <c>config.json</c> (the spelling of DeepSeek's release:
/// <c>rope_theta</c> + <c>rope_scaling</c>), including the fixed settings of this family that the parser does not keep
/// (sigmoid scoring, noaux_tc routing, silu) so that transformers can load the result.
/// </summary>
internal static class ModelConfigJsonWriter
{
    public static string Write(ModelConfig config)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("architectures");
            json.WriteStringValue("DeepseekV32ForCausalLM");
            json.WriteEndArray();
            json.WriteString("model_type", "deepseek_v32");
            json.WriteNumber("vocab_size", config.VocabSize);
            json.WriteNumber("hidden_size", config.HiddenSize);
            json.WriteNumber("intermediate_size", config.IntermediateSize);
            json.WriteNumber("moe_intermediate_size", config.MoeIntermediateSize);
            json.WriteNumber("num_hidden_layers", config.NumHiddenLayers);
            json.WriteNumber("num_nextn_predict_layers", config.NumNextnPredictLayers);
            json.WriteNumber("num_attention_heads", config.NumAttentionHeads);
            json.WriteNumber("num_key_value_heads", config.NumAttentionHeads);
            json.WriteNumber("n_shared_experts", config.NSharedExperts);
            json.WriteNumber("n_routed_experts", config.NRoutedExperts);
            json.WriteNumber("routed_scaling_factor", config.RoutedScalingFactor);
            json.WriteNumber("kv_lora_rank", config.KvLoraRank);
            if (config.QLoraRank is int qLora)
            {
                json.WriteNumber("q_lora_rank", qLora);
            }
            else
            {
                json.WriteNull("q_lora_rank");
            }

            json.WriteNumber("qk_rope_head_dim", config.QkRopeHeadDim);
            json.WriteNumber("v_head_dim", config.VHeadDim);
            json.WriteNumber("qk_nope_head_dim", config.QkNopeHeadDim);
            json.WriteString("topk_method", "noaux_tc");
            json.WriteNumber("n_group", config.NGroup);
            json.WriteNumber("topk_group", config.TopkGroup);
            json.WriteNumber("num_experts_per_tok", config.NumExpertsPerTok);
            json.WriteNumber("moe_layer_freq", 1);
            json.WriteNumber("first_k_dense_replace", config.FirstKDenseReplace);
            json.WriteBoolean("norm_topk_prob", config.NormTopkProb);
            json.WriteString("scoring_func", "sigmoid");
            json.WriteString("hidden_act", "silu");
            json.WriteNumber("max_position_embeddings", config.MaxPositionEmbeddings);
            json.WriteNumber("initializer_range", 0.02);
            json.WriteNumber("rms_norm_eps", config.RmsNormEps);
            json.WriteBoolean("use_cache", true);
            json.WriteNumber("bos_token_id", config.BosTokenId);
            WriteEos(json, config.EosTokenIds);
            json.WriteBoolean("tie_word_embeddings", config.TieWordEmbeddings);
            json.WriteNumber("rope_theta", config.Rope.Theta);
            json.WriteBoolean("attention_bias", false);
            json.WriteNumber("attention_dropout", 0.0);
            json.WriteNumber("index_topk", config.IndexTopk);
            json.WriteNumber("index_head_dim", config.IndexHeadDim);
            json.WriteNumber("index_n_heads", config.IndexNHeads);
            json.WriteString("torch_dtype", "bfloat16");
            WriteRopeScaling(json, config.Rope);
            if (config.Quantization is QuantizationConfig quant)
            {
                json.WriteStartObject("quantization_config");
                json.WriteString("activation_scheme", "dynamic");
                json.WriteString("fmt", quant.Format);
                json.WriteString("quant_method", quant.Method);
                json.WriteStartArray("weight_block_size");
                json.WriteNumberValue(quant.BlockRows);
                json.WriteNumberValue(quant.BlockCols);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void WriteEos(Utf8JsonWriter json, IReadOnlyList<int> eosTokenIds)
    {
        if (eosTokenIds.Count == 1)
        {
            json.WriteNumber("eos_token_id", eosTokenIds[0]);
            return;
        }

        json.WriteStartArray("eos_token_id");
        foreach (int id in eosTokenIds)
        {
            json.WriteNumberValue(id);
        }

        json.WriteEndArray();
    }

    private static void WriteRopeScaling(Utf8JsonWriter json, RopeConfig rope)
    {
        if (!rope.IsYarn)
        {
            json.WriteNull("rope_scaling");
            return;
        }

        json.WriteStartObject("rope_scaling");
        json.WriteNumber("factor", rope.Factor);
        json.WriteNumber("original_max_position_embeddings", rope.OriginalMaxPositionEmbeddings);
        json.WriteNumber("beta_fast", rope.BetaFast);
        json.WriteNumber("beta_slow", rope.BetaSlow);
        // 0 stands for "not given" (see RopeConfig): leave those keys out rather than write a misleading 0.
        if (rope.Mscale != 0.0)
        {
            json.WriteNumber("mscale", rope.Mscale);
        }

        if (rope.MscaleAllDim != 0.0)
        {
            json.WriteNumber("mscale_all_dim", rope.MscaleAllDim);
        }

        json.WriteString("type", RopeConfig.YarnType);
        json.WriteEndObject();
    }
}
