namespace KernelSharp.Runtime;

/// <summary>
/// The dimensions and settings of a DeepSeek-V3.2 (DSA) model, read from a Hugging Face <c>config.json</c>.
/// Grouped by concern as in DeepSeek's <c>model.py</c>. Nothing here is hard-coded: every size comes from the file.
/// Build one with <see cref="Load"/>, <see cref="Parse"/>, <see cref="ModelPresets.Get"/> or an object initializer
/// (then call <see cref="Validate"/>).
/// </summary>
public sealed record ModelConfig
{
    // --- embedding and stack
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    /// <summary>Layers [0, FirstKDenseReplace) use a dense SwiGLU MLP; the others use MoE.</summary>
    public required int FirstKDenseReplace { get; init; }
    /// <summary>Intermediate size of the dense MLP layers.</summary>
    public required int IntermediateSize { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public bool TieWordEmbeddings { get; init; }

    // --- MLA attention
    public required int NumAttentionHeads { get; init; }
    /// <summary>Rank of the query down-projection; null means queries are projected directly (<c>q_proj</c>).</summary>
    public required int? QLoraRank { get; init; }
    public required int KvLoraRank { get; init; }
    public required int QkNopeHeadDim { get; init; }
    public required int QkRopeHeadDim { get; init; }
    public required int VHeadDim { get; init; }

    // --- lightning indexer (DSA)
    public required int IndexNHeads { get; init; }
    public required int IndexHeadDim { get; init; }
    public required int IndexTopk { get; init; }

    // --- MoE
    public required int MoeIntermediateSize { get; init; }
    public required int NRoutedExperts { get; init; }
    public required int NSharedExperts { get; init; }
    public required int NumExpertsPerTok { get; init; }
    public required int NGroup { get; init; }
    public required int TopkGroup { get; init; }
    public bool NormTopkProb { get; init; } = true;
    public required double RoutedScalingFactor { get; init; }

    // --- positions, tokens, weights
    public required int MaxPositionEmbeddings { get; init; }
    public required RopeConfig Rope { get; init; }
    public int BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [1];
    public QuantizationConfig? Quantization { get; init; }
    /// <summary>Multi-token-prediction layers stored after the last layer (index NumHiddenLayers...); recorded, never run.</summary>
    public int NumNextnPredictLayers { get; init; }

    /// <summary>Per-head query/key width: nope + rope.</summary>
    public int QkHeadDim => QkNopeHeadDim + QkRopeHeadDim;

    /// <summary>Experts in each routing group.</summary>
    public int ExpertsPerGroup => NRoutedExperts / NGroup;

    /// <summary>True when layer <paramref name="layer"/> uses MoE rather than the dense MLP.</summary>
    public bool IsMoeLayer(int layer) => layer >= FirstKDenseReplace;

    /// <summary>Reads and validates a <c>config.json</c>; every problem is a <see cref="ConfigException"/> naming the file and key.</summary>
    public static ModelConfig Load(string configJsonPath)
    {
        if (FileKinds.Of(configJsonPath) == FileKind.Missing)
        {
            string absent = FileKinds.DanglingLinkTarget(configJsonPath) is null ? "file not found" : InputFiles.Absent(configJsonPath);
            throw new ConfigException($"{configJsonPath}: {absent}; a checkpoint folder needs the model's config.json");
        }

        string json = InputFiles.ReadAllText(configJsonPath, "model config", InputFiles.ConfigLimit, message => new ConfigException(message));

        return Parse(json, configJsonPath);
    }

    /// <summary>Parses and validates config JSON; <paramref name="sourceName"/> names it in error messages.</summary>
    public static ModelConfig Parse(string json, string sourceName) => ModelConfigParser.Parse(json, sourceName);

    /// <summary>The config in the Hugging Face Hub spelling (<c>rope_scaling</c> + <c>rope_theta</c>), indented.</summary>
    public string ToJson() => ModelConfigJsonWriter.Write(this);

    /// <summary>Checks the cross-key rules (see <see cref="ModelConfigValidator"/>); throws <see cref="ConfigException"/>.</summary>
    public ModelConfig Validate(string sourceName = "model config")
    {
        ModelConfigValidator.Validate(this, sourceName);
        return this;
    }
}
