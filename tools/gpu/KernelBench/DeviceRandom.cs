using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;

namespace KernelSharp.Tools.KernelBench;

/// <summary>
/// Random inputs generated on the device from a counter hash (gigabytes of benchmark inputs would take the host
/// seconds to draw and upload). Values are uniform, never all zeros; slices are downloaded for the reference checks.
/// </summary>
public static class DeviceRandom
{
    private static readonly Dictionary<(Accelerator, string), Delegate> Loaded = [];

    /// <summary>Each fill kernel is compiled once per accelerator (a compile costs ~0.4 s; the benchmarks fill dozens of buffers).</summary>
    private static T Cached<T>(Accelerator accelerator, string name, Func<Accelerator, T> load) where T : Delegate
    {
        if (!Loaded.TryGetValue((accelerator, name), out var kernel))
            Loaded[(accelerator, name)] = kernel = load(accelerator);
        return (T)kernel;
    }

    /// <summary>Uniform in [-scale, scale).</summary>
    public static void Uniform(Accelerator accelerator, ArrayView<float> target, uint seed, float scale = 1f)
        => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, uint, float>(UniformKernel)((int)target.Length, target, seed, scale);

    /// <summary>Uniform in [low, high): positive scales.</summary>
    public static void Between(Accelerator accelerator, ArrayView<float> target, uint seed, float low, float high)
        => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, uint, float, float>(BetweenKernel)((int)target.Length, target, seed, low, high);

    /// <summary>bf16 bits of values uniform in [-scale, scale).</summary>
    public static void Bf16(Accelerator accelerator, ArrayView<ushort> target, uint seed, float scale = 1f)
        => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<ushort>, uint, float>(Bf16Kernel)((int)target.Length, target, seed, scale);

    /// <summary>e4m3 bytes of values uniform in [-400, 400) (the range a block-scaled quantizer fills).</summary>
    public static void Fp8(Accelerator accelerator, ArrayView<byte> target, uint seed)
        => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, uint>(Fp8Kernel)((int)target.Length, target, seed);

    /// <summary>Integers uniform in [0, exclusiveMax).</summary>
    public static void Indices(Accelerator accelerator, ArrayView<int> target, uint seed, int exclusiveMax)
        => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, uint, int>(IndicesKernel)((int)target.Length, target, seed, exclusiveMax);

    /// <summary>Every element set to <paramref name="value"/> (e.g. NaN before a run, so unwritten outputs show).</summary>
    public static void Fill(Accelerator accelerator, ArrayView<float> target, float value)
        => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float>(FillKernel)((int)target.Length, target, value);

    public static void Fill(Accelerator accelerator, ArrayView<int> target, int value)
        => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, int>(FillIntKernel)((int)target.Length, target, value);

    private static void UniformKernel(Index1D i, ArrayView<float> target, uint seed, float scale) => target[i] = Unit(i, seed) * scale;

    private static void BetweenKernel(Index1D i, ArrayView<float> target, uint seed, float low, float high)
        => target[i] = low + (Unit(i, seed) * 0.5f + 0.5f) * (high - low);

    private static void Bf16Kernel(Index1D i, ArrayView<ushort> target, uint seed, float scale) => target[i] = KernelSharp.Dsl.Bf16.FromFloat(Unit(i, seed) * scale);

    private static void Fp8Kernel(Index1D i, ArrayView<byte> target, uint seed) => target[i] = Fp8E4M3.FromFloat(Unit(i, seed) * 400f);

    private static void IndicesKernel(Index1D i, ArrayView<int> target, uint seed, int exclusiveMax)
        => target[i] = (int)(Hash((uint)i.X * 0x9E3779B9u ^ seed) % (uint)exclusiveMax);

    private static void FillKernel(Index1D i, ArrayView<float> target, float value) => target[i] = value;

    private static void FillIntKernel(Index1D i, ArrayView<int> target, int value) => target[i] = value;

    /// <summary>Uniform in [-1, 1) from 24 bits of the hash of (index, seed).</summary>
    private static float Unit(int index, uint seed) => (Hash((uint)index * 0x9E3779B9u ^ seed) >> 8) * (2f / 16777216f) - 1f;

    /// <summary>A 32-bit integer mixer (xor-shift-multiply rounds): neighbouring inputs give unrelated outputs.</summary>
    private static uint Hash(uint x)
    {
        x ^= x >> 16;
        x *= 0x7FEB352Du;
        x ^= x >> 15;
        x *= 0x846CA68Bu;
        x ^= x >> 16;
        return x;
    }
}
