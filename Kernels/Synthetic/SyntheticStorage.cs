namespace KernelSharp.Kernels.Synthetic;

/// <summary>How a generated weight is stored (an int, so kernels take it as a plain parameter).</summary>
public static class SyntheticStorage
{
    public const int Float32 = 0;
    public const int Bf16 = 1;
    public const int Fp8 = 2;
}
