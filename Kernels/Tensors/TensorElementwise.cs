using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Tensors;

/// <summary>Elementwise updates of a flat buffer: the residual add, a scale, and fills (−∞ score rows, −1 index slots, positions).</summary>
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

    /// <summary>x[i] = start + i (the positions of a run of consecutive tokens, made on the device without an upload).</summary>
    [Kernel(Grid = "(count + 255) / 256", GroupSize = "256")]
    public static void FillRange(
        ArrayView<int> x, // [count]
        int start,
        int count)
    {
        int i = Grid.IdxX * 256 + Group.IdxX;
        if (i < count)
            x[i] = start + i;
    }
}
