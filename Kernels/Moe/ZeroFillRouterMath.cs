namespace KernelSharp.Kernels.Moe;

public static class ZeroFillRouterMath
{
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}
