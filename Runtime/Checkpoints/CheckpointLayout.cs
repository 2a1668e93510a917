namespace KernelSharp.Runtime;

/// <summary>What a tensor is for; decides its stored dtype and the scale of random values.</summary>
public enum TensorRole
{
    /// <summary><c>model.embed_tokens.weight</c> [V, H].</summary>
    Embedding,

    /// <summary><c>lm_head.weight</c> [V, H].</summary>
    OutputHead,

    /// <summary>RMSNorm / LayerNorm weight [n].</summary>
    NormWeight,

    /// <summary>LayerNorm bias [n] (the indexer's <c>k_norm.bias</c>).</summary>
    NormBias,

    /// <summary>A linear projection [out, in]; FP8 with block scales in FP8 checkpoints.</summary>
    Projection,

    /// <summary>MoE router <c>mlp.gate.weight</c> [E, H]; kept in bf16 even in FP8 checkpoints.</summary>
    RouterWeight,

    /// <summary>MoE router <c>mlp.gate.e_score_correction_bias</c> [E]; F32.</summary>
    RouterBias,

    /// <summary>Indexer <c>weights_proj.weight</c> [index_heads, H]; F32.</summary>
    IndexerHeadWeights,
}

/// <summary>One tensor of the Hub layout: name, shape [out, in] for matrices, role.</summary>
public sealed record CheckpointTensor(string Name, long[] Shape, TensorRole Role)
{
    /// <summary>Input width of a matrix (its last dimension); 1 for vectors.</summary>
    public long FanIn => Shape.Length == 2 ? Shape[1] : 1;
}

/// <summary>
/// The tensors a DeepSeek-V3.2 checkpoint holds for a config (docs/DSA.md §2), in Hub naming, in the order
/// embeddings → layers → final norm → lm_head. MTP layers (index ≥ num_hidden_layers) are not part of it.
/// With <c>q_lora_rank: null</c> the query is projected directly (<c>self_attn.q_proj.weight</c> [heads·(nope+rope), H]) and the
/// indexer's <c>wq_b</c> then reads the hidden state ([index_heads·index_dim, H]); this is this project's convention, since the
/// released model always has a q_lora.
/// </summary>
public static class CheckpointLayout
{
    /// <summary>The most tensors a layout may have (DeepSeek-V3.2 has about 46 000 weights, 91 000 with FP8 scales).</summary>
    public const long MaxTensors = 1_000_000;

    /// <summary>
    /// An upper bound of the tensor count of <paramref name="config"/>'s layout, in checked arithmetic, so that a hostile
    /// config (2·10⁹ layers or experts) is refused before anything is listed tensor by tensor.
    /// </summary>
    public static long TensorCountBound(ModelConfig config)
    {
        try
        {
            long perLayer = checked(32 + (3L * (config.NRoutedExperts + config.NSharedExperts)));
            return checked((config.NumHiddenLayers * perLayer) + 3);
        }
        catch (OverflowException)
        {
            return long.MaxValue;
        }
    }

    /// <exception cref="ConfigException">The layout would hold more than <see cref="MaxTensors"/> tensors.</exception>
    public static IReadOnlyList<CheckpointTensor> For(ModelConfig config)
    {
        long bound = TensorCountBound(config);
        if (bound > MaxTensors)
        {
            throw new ConfigException(
                $"model config: {config.NumHiddenLayers} layers with {config.NRoutedExperts} experts would be about {(bound == long.MaxValue ? "2^63" : bound.ToString("N0", System.Globalization.CultureInfo.InvariantCulture))} tensors; at most {MaxTensors:N0} are supported");
        }

        var tensors = new List<CheckpointTensor>();
        long hidden = config.HiddenSize;
        tensors.Add(new("model.embed_tokens.weight", [config.VocabSize, hidden], TensorRole.Embedding));
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            AddLayer(tensors, config, layer);
        }

        tensors.Add(new("model.norm.weight", [hidden], TensorRole.NormWeight));
        if (!config.TieWordEmbeddings)
        {
            tensors.Add(new("lm_head.weight", [config.VocabSize, hidden], TensorRole.OutputHead));
        }

        return tensors;
    }

    /// <summary>
    /// Checks before anything is loaded that <paramref name="checkpoint"/> holds every tensor the config needs, with the
    /// right shape and a floating-point dtype, and for FP8 weights a block-scale tensor of the right shape. The first
    /// problem is a <see cref="CheckpointException"/> naming the file (or folder), the tensor and what was expected.
    /// </summary>
    public static void Verify(ModelConfig config, Checkpoint checkpoint)
    {
        QuantizationConfig blocks = config.Quantization ?? QuantizationConfig.Fp8Blocks128;
        foreach (CheckpointTensor tensor in For(config))
        {
            if (!checkpoint.Contains(tensor.Name))
            {
                throw new CheckpointException($"{checkpoint.Location}: tensor '{tensor.Name}' {TensorInfo.FormatShape(tensor.Shape)} is missing; the model config needs it");
            }

            TensorInfo info = checkpoint.GetInfo(tensor.Name);
            if (!info.Shape.AsSpan().SequenceEqual(tensor.Shape))
            {
                throw new CheckpointException($"{info.FilePath}: tensor '{tensor.Name}' has shape {info.ShapeText}; the model config expects {TensorInfo.FormatShape(tensor.Shape)}");
            }

            if (!info.DType.IsFloatingPoint())
            {
                throw new CheckpointException($"{info.FilePath}: tensor '{tensor.Name}' is {info.DType}; expected F32, F16, BF16 or F8_E4M3");
            }

            if (info.DType == TensorDType.F8_E4M3)
            {
                long rows = tensor.Shape.Length == 2 ? tensor.Shape[0] : 1;
                long[] scaleShape = [(rows + blocks.BlockRows - 1) / blocks.BlockRows, (tensor.FanIn + blocks.BlockCols - 1) / blocks.BlockCols];
                string scaleName = tensor.Name + "_scale_inv";
                if (!checkpoint.Contains(scaleName))
                {
                    throw new CheckpointException($"{info.FilePath}: FP8 tensor '{tensor.Name}' has no '{scaleName}' (F32 {TensorInfo.FormatShape(scaleShape)}) in the checkpoint");
                }

                TensorInfo scale = checkpoint.GetInfo(scaleName);
                if (!scale.Shape.AsSpan().SequenceEqual(scaleShape))
                {
                    throw new CheckpointException(
                        $"{scale.FilePath}: tensor '{scaleName}' has shape {scale.ShapeText}; expected {TensorInfo.FormatShape(scaleShape)} " +
                        $"for {blocks.BlockRows}×{blocks.BlockCols} blocks (quantization_config.weight_block_size)");
                }
            }
        }
    }

    private static void AddLayer(List<CheckpointTensor> tensors, ModelConfig config, int layer)
    {
        string prefix = $"model.layers.{layer}.";
        long hidden = config.HiddenSize;
        long heads = config.NumAttentionHeads;
        long qHeadWidth = config.QkNopeHeadDim + config.QkRopeHeadDim;
        tensors.Add(new(prefix + "input_layernorm.weight", [hidden], TensorRole.NormWeight));

        // MLA attention
        string attention = prefix + "self_attn.";
        long queryInput = hidden;
        if (config.QLoraRank is int qLora)
        {
            tensors.Add(new(attention + "q_a_proj.weight", [qLora, hidden], TensorRole.Projection));
            tensors.Add(new(attention + "q_a_layernorm.weight", [qLora], TensorRole.NormWeight));
            tensors.Add(new(attention + "q_b_proj.weight", [heads * qHeadWidth, qLora], TensorRole.Projection));
            queryInput = qLora;
        }
        else
        {
            tensors.Add(new(attention + "q_proj.weight", [heads * qHeadWidth, hidden], TensorRole.Projection));
        }

        tensors.Add(new(attention + "kv_a_proj_with_mqa.weight", [config.KvLoraRank + config.QkRopeHeadDim, hidden], TensorRole.Projection));
        tensors.Add(new(attention + "kv_a_layernorm.weight", [config.KvLoraRank], TensorRole.NormWeight));
        tensors.Add(new(attention + "kv_b_proj.weight", [heads * (config.QkNopeHeadDim + config.VHeadDim), config.KvLoraRank], TensorRole.Projection));
        tensors.Add(new(attention + "o_proj.weight", [hidden, heads * config.VHeadDim], TensorRole.Projection));

        // Lightning indexer
        string indexer = attention + "indexer.";
        tensors.Add(new(indexer + "wq_b.weight", [(long)config.IndexNHeads * config.IndexHeadDim, queryInput], TensorRole.Projection));
        tensors.Add(new(indexer + "wk.weight", [config.IndexHeadDim, hidden], TensorRole.Projection));
        tensors.Add(new(indexer + "k_norm.weight", [config.IndexHeadDim], TensorRole.NormWeight));
        tensors.Add(new(indexer + "k_norm.bias", [config.IndexHeadDim], TensorRole.NormBias));
        tensors.Add(new(indexer + "weights_proj.weight", [config.IndexNHeads, hidden], TensorRole.IndexerHeadWeights));

        tensors.Add(new(prefix + "post_attention_layernorm.weight", [hidden], TensorRole.NormWeight));

        // Feed-forward: dense SwiGLU for the first layers, MoE after.
        string mlp = prefix + "mlp.";
        if (!config.IsMoeLayer(layer))
        {
            AddSwiGlu(tensors, mlp, hidden, config.IntermediateSize);
            return;
        }

        tensors.Add(new(mlp + "gate.weight", [config.NRoutedExperts, hidden], TensorRole.RouterWeight));
        tensors.Add(new(mlp + "gate.e_score_correction_bias", [config.NRoutedExperts], TensorRole.RouterBias));
        for (int expert = 0; expert < config.NRoutedExperts; expert++)
        {
            AddSwiGlu(tensors, $"{mlp}experts.{expert}.", hidden, config.MoeIntermediateSize);
        }

        if (config.NSharedExperts > 0)
        {
            AddSwiGlu(tensors, mlp + "shared_experts.", hidden, (long)config.MoeIntermediateSize * config.NSharedExperts);
        }
    }

    private static void AddSwiGlu(List<CheckpointTensor> tensors, string prefix, long hidden, long intermediate)
    {
        tensors.Add(new(prefix + "gate_proj.weight", [intermediate, hidden], TensorRole.Projection));
        tensors.Add(new(prefix + "up_proj.weight", [intermediate, hidden], TensorRole.Projection));
        tensors.Add(new(prefix + "down_proj.weight", [hidden, intermediate], TensorRole.Projection));
    }
}
