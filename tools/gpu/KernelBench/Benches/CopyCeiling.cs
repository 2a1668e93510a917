using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;

namespace KernelSharp.Tools.KernelBench;

/// <summary>
/// The HBM ceiling every memory-bound row is measured against: an ILGPU copy of 1 GiB with 16-byte loads and stores
/// (grid-stride, 4 floats per thread per step), bytes read + written over the median time.
/// </summary>
public static class CopyCeiling
{
    /// <summary>floats: 2^28 (1 GiB) on the GPU; a multiple of 4096.</summary>
    public static double MeasureTbps(Accelerator accelerator, long floats)
    {
        using var source = accelerator.Allocate1D<float>(floats); // [floats]
        using var target = accelerator.Allocate1D<float>(floats); // [floats]
        DeviceRandom.Uniform(accelerator, source.View, 11);
        var copy = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(CopyFloat4);
        int groups = accelerator.NumMultiprocessors * 8;
        var config = new KernelConfig(groups, 256);
        int vectors = (int)(floats / 4);
        double ms = GpuTiming.MedianMilliseconds(accelerator, _ => copy(config, source.View, target.View, vectors), 5, 9);

        float[] head = new float[4096];
        float[] copied = new float[4096];
        source.View.SubView(floats - 4096, 4096).CopyToCPU(head);
        target.View.SubView(floats - 4096, 4096).CopyToCPU(copied);
        if (!head.AsSpan().SequenceEqual(copied))
            throw new InvalidOperationException("float4 copy: the copied tail differs from the source");
        return 2.0 * floats * sizeof(float) / (ms * 1e-3) / 1e12;
    }

    /// <summary>target[i] = source[i] in 16-byte vectors; <paramref name="vectors"/> = length / 4.</summary>
    private static void CopyFloat4(ArrayView<float> source, ArrayView<float> target, int vectors) // source, target [4 · vectors]
    {
        int stride = Grid.DimX * Group.DimX;
        for (int v = Grid.IdxX * Group.DimX + Group.IdxX; v < vectors; v += stride)
            KsVector.StoreFloat4(target, 4L * v, KsVector.LoadFloat4(source, 4L * v));
    }
}
