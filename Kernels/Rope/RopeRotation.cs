using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Rope;

public static partial class RopeKernels
{
    /// <summary>(a, b) ← (a·c − b·s, b·c + a·s): multiplication by e^(iθ) with a the real part.</summary>
    private static void Rotate(ArrayView<float> x, long first, long second, ArrayView<float> cos, ArrayView<float> sin, long table)
    {
        float c = cos[table];
        float s = sin[table];
        float a = x[first];
        float b = x[second];
        x[first] = a * c - b * s;
        x[second] = b * c + a * s;
    }
}
