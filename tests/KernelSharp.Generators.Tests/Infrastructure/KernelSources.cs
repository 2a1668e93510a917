namespace KernelSharp.Generators.Tests.Infrastructure;

/// <summary>Small kernels fed to the generator in memory by the snapshot, diagnostics and incrementality tests.</summary>
internal static class KernelSources
{
    public const string Usings = """
        using ILGPU;
        using ILGPU.Algorithms;
        using KernelSharp.Dsl;

        namespace Samples.Kernels;

        """;

    public static string InClass(string members) => Usings + "public static partial class SampleKernels\n{\n" + members + "\n}\n";

    public const string Elementwise = """
            [Kernel(Grid = "(n + blockSize - 1) / blockSize", GroupSize = "blockSize")]
            public static void Scale(ArrayView<float> x, ArrayView<float> y, int n, float factor, [Constant(128, 256)] int blockSize)
            {
                int i = Grid.IdxX * blockSize + Group.IdxX;
                if (i >= n)
                    return;
                y[i] = x[i] * factor;
            }
        """;

    public const string RmsNorm = """
            [Kernel(Grid = "rows", GroupSize = "blockSize")]
            public static void RmsNorm(ArrayView<float> x, ArrayView<float> w, ArrayView<float> y, int rows, [Shape(4096)] int cols, float eps, [Constant(128, 256)] int blockSize)
            {
                long rowStart = (long)Grid.IdxX * cols;
                float partial = 0f;
                for (int c = Group.IdxX; c < cols; c += blockSize)
                    partial += x[rowStart + c] * x[rowStart + c];
                float total = KsGroup.Sum(partial);
                float scale = 1f / XMath.Sqrt(total / cols + eps);
                for (int c = Group.IdxX; c < cols; c += blockSize)
                    y[rowStart + c] = x[rowStart + c] * scale * w[c];
            }
        """;

    public const string SharedTreeSum = """
            [Kernel(Grid = "rows", GroupSize = "blockSize")]
            public static void RowSum(ArrayView<float> x, ArrayView<float> sums, int rows, int cols, [Constant(32, 64, PowerOfTwo = true)] int blockSize)
            {
                var partial = SharedMemory.Allocate<float>(blockSize); // [blockSize]
                float local = 0f;
                for (int c = Group.IdxX; c < cols; c += blockSize)
                    local += x[(long)Grid.IdxX * cols + c];
                partial[Group.IdxX] = local;
                Group.Barrier();
                for (int stride = blockSize / 2; stride > 0; stride /= 2)
                {
                    if (Group.IdxX < stride)
                        partial[Group.IdxX] += partial[Group.IdxX + stride];
                    Group.Barrier();
                }
                if (Group.IdxX == 0)
                    sums[Grid.IdxX] = partial[0];
            }
        """;

    public const string RegisterTile = """
            [Kernel(Grid = "(n + 32 * tile - 1) / (32 * tile)", GroupSize = "32")]
            public static void TileAxpy(ArrayView<float> x, ArrayView<float> y, int n, float alpha, [Constant(2, 4)] int tile)
            {
                int start = (Grid.IdxX * 32 + Group.IdxX) * tile;
                for (int k = 0; k < tile; k++)
                {
                    int i = start + k;
                    if (i < n)
                        y[i] += alpha * x[i];
                }
            }
        """;

    public const string ConfigShaped = """
            [Kernel(Grid = "rows", GroupSize = "64")]
            public static void RowScale(ArrayView<float> x, int rows, [Shape(ConfigKey = "hidden_size")] int hidden, float factor)
            {
                for (int c = Group.IdxX; c < hidden; c += 64)
                    x[(long)Grid.IdxX * hidden + c] *= factor;
            }
        """;

    public const string WarpMax = """
            [Kernel(Grid = "rows", GroupSize = "64")]
            public static void WarpMax(ArrayView<float> x, ArrayView<float> maxima, int rows)
            {
                if (Grid.IdxX >= rows)
                    return;
                float v = x[(long)Grid.IdxX * 64 + Group.IdxX];
                float m = KsWarp.Max(v);
                if (KsWarp.LaneIdx == 0)
                    maxima[Grid.IdxX * 2 + Group.IdxX / 32] = m + v - v;
            }
        """;

    public const string NestedCollective = """
            [Kernel(Grid = "rows", GroupSize = "32")]
            public static void Nested(ArrayView<float> x, int rows)
            {
                float v = x[Grid.IdxX * 32 + Group.IdxX];
                if (v > 0)
                    v = KsGroup.Sum(v);
                x[Grid.IdxX * 32 + Group.IdxX] = v;
            }
        """;

    public const string FormatGeneric = """
            public interface IRowSource { float Load(long index); }
            public struct Fp32Source : IRowSource { public ArrayView<float> Values; public readonly float Load(long index) => Values[index]; }
            [Kernel(Grid = "(n + blockSize - 1) / blockSize", GroupSize = "blockSize")]
            public static void Gather<TSource>(TSource source, ArrayView<float> y, int n, [Constant(64, 128)] int blockSize)
                where TSource : struct, IRowSource
            {
                int i = Grid.IdxX * blockSize + Group.IdxX;
                if (i < n)
                    y[i] = source.Load(i);
            }
        """;

    /// <summary>Two axes on one kernel (MlaAttention's cache format and key source): the grid reads a member of one.</summary>
    public const string TwoAxes = """
            public interface IRowSource { float Load(long index); }
            public struct Fp32Source : IRowSource { public ArrayView<float> Values; public readonly float Load(long index) => Values[index]; }
            public interface IIndexSource { int Slices { get; } long Index(int i); }
            public struct RangeIndex : IIndexSource { public readonly int Slices => 1; public readonly long Index(int i) => i; }
            [Kernel(Grid = "n * indices.Slices", GroupSize = "64")]
            public static void GatherBy<TSource, TIndex>(TSource source, TIndex indices, ArrayView<float> y, int n)
                where TSource : struct, IRowSource
                where TIndex : struct, IIndexSource
            {
                int i = Grid.IdxX * 64 + Group.IdxX;
                if (i < n)
                    y[i] = source.Load(indices.Index(i));
            }
        """;

    public const string FormatWithCpuBody = """
            public interface IRowSource
            {
                [Intrinsic(CpuBody = nameof(SumCpu))] float Sum(long start, int count);
                float SumCpu(long start, int count);
                [Intrinsic(CpuBody = "NoSuchMember")] float First(long start);
            }
            public struct Fp32Source : IRowSource
            {
                public ArrayView<float> Values;
                public readonly float Sum(long start, int count) { float s = 0f; for (int i = 0; i < count; i++) s += Values[start + i]; return s; }
                public readonly float SumCpu(long start, int count) => -1f;
                public readonly float First(long start) => Values[start];
            }
            [Kernel(Grid = "rows", GroupSize = "1")]
            public static void RowSums<TSource>(TSource source, ArrayView<float> y, int rows, int cols)
                where TSource : struct, IRowSource
            {
                y[Grid.IdxX] = source.Sum((long)Grid.IdxX * cols, cols) + source.First((long)Grid.IdxX * cols);
            }
        """;

    public const string Plain = """
            [Kernel(Grid = "n", GroupSize = "1")]
            public static void Fill(ArrayView<int> values, int n, int value)
            {
                values[Grid.IdxX] = value;
            }
        """;
}
