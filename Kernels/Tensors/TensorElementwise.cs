using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Tensors;

/// <summary>Elementwise updates of a flat buffer: the residual add, a scale, and fills (−∞ score rows, −1 index slots).</summary>
public static partial class TensorKernels
{
    /// <summary>target[i] += addend[i].</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void AddInPlace(
        ArrayView<float> target, // [count]
        ArrayView<float> addend, // [count]
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            target[i] = target[i] + addend[i];
    }

    /// <summary>x[i] *= factor.</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void ScaleInPlace(
        ArrayView<float> x, // [count]
        float factor,
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            x[i] = x[i] * factor;
    }

    /// <summary>x[i] = value.</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void FillFloat(
        ArrayView<float> x, // [count]
        float value,
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            x[i] = value;
    }

    /// <summary>x[i] = value.</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void FillInt(
        ArrayView<int> x, // [count]
        int value,
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            x[i] = value;
    }
}
