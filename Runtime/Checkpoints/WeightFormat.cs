namespace KernelSharp.Runtime;

/// <summary>How <see cref="RandomCheckpointWriter"/> stores projection weights.</summary>
public enum WeightFormat
{
    /// <summary>bfloat16 everywhere (router bias and indexer head weights F32), like tests/fixtures/tiny-dsa-bf16.</summary>
    Bf16,

    /// <summary>Projections in FP8 e4m3 with F32 <c>_scale_inv</c> block scales, like the released model and tiny-dsa-fp8-yarn.</summary>
    Fp8,
}
