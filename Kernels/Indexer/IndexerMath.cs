using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

/// <summary>Per-thread helpers shared by the indexer kernels (plain loops, valid in ILGPU kernels and on the host).</summary>
public static class IndexerMath
{
    public static float Relu(float x) => x > 0f ? x : 0f;

    /// <summary>Σ e4m3(a[aStart+i])·b[bStart+i] for i &lt; length (the per-key scale is applied by the caller).</summary>
    public static float DotFp8(ArrayView<byte> a, long aStart, ArrayView<float> b, long bStart, int length)
    {
        float total = 0f;
        for (int i = 0; i < length; i++)
            total += Fp8E4M3.ToFloat(a[aStart + i]) * b[bStart + i];
        return total;
    }
}
