namespace KernelSharp.Runtime;

/// <summary>
/// Named configs of the DeepSeek-V3.2 family for tests, benchmarks and <c>kernelsharp create-model</c>:
/// "tiny" (the dimensions of tests/fixtures/tiny-dsa-bf16), "mid-5b" (a ~5B-parameter model with the real model's
/// head dimensions, routing and YaRN, to measure speed on one GPU) and "deepseek-v3.2" (the released model, docs/DSA.md §1).
/// </summary>
public static class ModelPresets
{
    public static IReadOnlyList<string> Names { get; } = ["tiny", "mid-5b", "deepseek-v3.2"];

    /// <summary>The preset named <paramref name="name"/> (case-insensitive); an unknown name is a <see cref="UserInputException"/>.</summary>
    public static ModelConfig Get(string name) => name.ToLowerInvariant() switch
    {
        "tiny" => Tiny,
        "mid-5b" => Mid5B,
        "deepseek-v3.2" => DeepSeekV32,
        _ => throw new UserInputException($"unknown model preset '{name}'; expected one of: {string.Join(", ", Names)}"),
    };

    /// <summary>The real DeepSeek-V3.2 (671B parameters, FP8 128×128 blocks, YaRN factor 40).</summary>
    public static ModelConfig DeepSeekV32 { get; } = new ModelConfig
    {
        VocabSize = 129280,
        HiddenSize = 7168,
        NumHiddenLayers = 61,
        FirstKDenseReplace = 3,
        IntermediateSize = 18432,
        RmsNormEps = 1e-6,
        TieWordEmbeddings = false,
        NumAttentionHeads = 128,
        QLoraRank = 1536,
        KvLoraRank = 512,
        QkNopeHeadDim = 128,
        QkRopeHeadDim = 64,
        VHeadDim = 128,
        IndexNHeads = 64,
        IndexHeadDim = 128,
        IndexTopk = 2048,
        MoeIntermediateSize = 2048,
        NRoutedExperts = 256,
        NSharedExperts = 1,
        NumExpertsPerTok = 8,
        NGroup = 8,
        TopkGroup = 4,
        NormTopkProb = true,
        RoutedScalingFactor = 2.5,
        MaxPositionEmbeddings = 163840,
        Rope = new RopeConfig(RopeConfig.YarnType, 10000.0, 40.0, 4096, 32.0, 1.0, 1.0, 1.0),
        BosTokenId = 0,
        EosTokenIds = [1],
        Quantization = QuantizationConfig.Fp8Blocks128,
        NumNextnPredictLayers = 1,
    }.Validate("preset deepseek-v3.2");

    /// <summary>
    /// ~5B parameters: the real model's attention geometry (nope 128, rope 64, v 128, q_lora 1536, kv_lora 512,
    /// indexer 64×128 with top-2048) and YaRN, at hidden 2048 with 12 layers and 64 experts in 8 groups.
    /// </summary>
    public static ModelConfig Mid5B { get; } = (DeepSeekV32 with
    {
        HiddenSize = 2048,
        NumHiddenLayers = 12,
        FirstKDenseReplace = 1,
        IntermediateSize = 5632,
        NumAttentionHeads = 16,
        MoeIntermediateSize = 1024,
        NRoutedExperts = 64,
        NGroup = 8,
        TopkGroup = 4,
        NumExpertsPerTok = 6,
        NSharedExperts = 1,
        IndexNHeads = 64,
        IndexHeadDim = 128,
        IndexTopk = 2048,
        Quantization = null,
        NumNextnPredictLayers = 0,
    }).Validate("preset mid-5b");

    /// <summary>The dimensions of the test fixtures (tests/fixtures/README.md), plain RoPE, bf16.</summary>
    public static ModelConfig Tiny { get; } = new ModelConfig
    {
        VocabSize = 512,
        HiddenSize = 128,
        NumHiddenLayers = 3,
        FirstKDenseReplace = 1,
        IntermediateSize = 256,
        RmsNormEps = 1e-6,
        TieWordEmbeddings = false,
        NumAttentionHeads = 4,
        QLoraRank = 64,
        KvLoraRank = 64,
        QkNopeHeadDim = 32,
        QkRopeHeadDim = 16,
        VHeadDim = 32,
        IndexNHeads = 8,
        IndexHeadDim = 32,
        IndexTopk = 32,
        MoeIntermediateSize = 64,
        NRoutedExperts = 16,
        NSharedExperts = 1,
        NumExpertsPerTok = 4,
        NGroup = 4,
        TopkGroup = 2,
        NormTopkProb = true,
        RoutedScalingFactor = 2.5,
        MaxPositionEmbeddings = 4096,
        Rope = RopeConfig.Plain(10000.0, 4096),
        BosTokenId = 0,
        EosTokenIds = [1],
        Quantization = null,
        NumNextnPredictLayers = 1,
    }.Validate("preset tiny");
}
