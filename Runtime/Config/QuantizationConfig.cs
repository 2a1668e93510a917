namespace KernelSharp.Runtime;

/// <summary>
/// Block-quantized weights: <see cref="Method"/> "fp8", <see cref="Format"/> "e4m3"; each weight of shape [out, in] has an F32
/// companion <c>&lt;name&gt;_scale_inv</c> of shape [ceil(out/BlockRows), ceil(in/BlockCols)].
/// </summary>
public sealed record QuantizationConfig(string Method, string Format, int BlockRows, int BlockCols)
{
    public const string Fp8Method = "fp8";
    public const string E4M3Format = "e4m3";

    /// <summary>DeepSeek-V3's released quantization: FP8 e4m3 with 128×128 blocks.</summary>
    public static QuantizationConfig Fp8Blocks128 { get; } = new(Fp8Method, E4M3Format, 128, 128);
}
