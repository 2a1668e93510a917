using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;
using KernelSharp.Generators.Tests.Infrastructure;
using KernelSharp.Generators.Tests.Kernels;
using Xunit;

namespace KernelSharp.Generators.Tests;

/// <summary>
/// The test kernels run through their generated launchers on the generated CPU path (FastCpu) and on ILGPU's CPU
/// accelerator (IlgpuCpu), against the plain references on fresh random inputs.
/// </summary>
[Collection(AutotuneCollection.Name)]
public sealed class ExecutionTests
{
    private const float Tolerance = 1e-5f;

    [SkippableTheory]
    [InlineData(KernelBackend.FastCpu, 1000)]
    [InlineData(KernelBackend.IlgpuCpu, 300)]
    [InlineData(KernelBackend.FastCpu, 1)]
    [InlineData(KernelBackend.Cuda, 100_000)]
    [InlineData(KernelBackend.OpenCL, 1000)]
    public void VectorAddMatchesReference(KernelBackend backend, int n)
    {
        var device = TestDevices.Get(backend);
        var a = Numerics.Random(n, seed: n);
        var b = Numerics.Random(n, seed: n + 1);
        using var da = device.Allocate<float>(n);
        using var db = device.Allocate<float>(n);
        using var dc = device.Allocate<float>(n);
        da.CopyFromCPU(a);
        db.CopyFromCPU(b);
        TestKernels.LaunchVectorAdd(device, da.View, db.View, dc.View, n);
        device.Synchronize();
        Numerics.AssertClose(References.VectorAdd(a, b), dc.GetAsArray1D(), 0f, $"VectorAdd on {backend}");
    }

    [SkippableTheory]
    [InlineData(KernelBackend.FastCpu, 64)]   // specialized variant (cols folded)
    [InlineData(KernelBackend.FastCpu, 100)]  // generic variant
    [InlineData(KernelBackend.IlgpuCpu, 64)]
    [InlineData(KernelBackend.IlgpuCpu, 100)]
    [InlineData(KernelBackend.Cuda, 256)]
    [InlineData(KernelBackend.Cuda, 4000)]
    public void RmsNormMatchesReference(KernelBackend backend, int cols)
    {
        const int rows = 5;
        const float eps = 1e-6f;
        var device = TestDevices.Get(backend);
        var x = Numerics.Random(rows * cols, seed: 7 + cols, scale: 3f);
        var weight = Numerics.Random(cols, seed: 11 + cols);
        using var dx = device.Allocate<float>(x.Length);
        using var dw = device.Allocate<float>(cols);
        using var dy = device.Allocate<float>(x.Length);
        dx.CopyFromCPU(x);
        dw.CopyFromCPU(weight);
        TestKernels.LaunchRmsNorm(device, dx.View, dw.View, dy.View, rows, cols, eps);
        device.Synchronize();
        Numerics.AssertClose(References.RmsNorm(x, weight, rows, cols, eps), dy.GetAsArray1D(), Tolerance, $"RmsNorm {rows}x{cols} on {backend}");
    }

    [SkippableTheory]
    [InlineData(KernelBackend.FastCpu, 3, 200)]
    [InlineData(KernelBackend.IlgpuCpu, 3, 50)]
    [InlineData(KernelBackend.Cuda, 64, 1000)]
    public void SoftmaxMatchesReference(KernelBackend backend, int rows, int cols)
    {
        var device = TestDevices.Get(backend);
        var x = Numerics.Random(rows * cols, seed: rows * cols, scale: 5f);
        using var dx = device.Allocate<float>(x.Length);
        using var dy = device.Allocate<float>(x.Length);
        dx.CopyFromCPU(x);
        // Softmax reads and writes y: the autotuner must restore it between its timed runs.
        TestKernels.LaunchSoftmax(device, dx.View, dy.View, rows, cols);
        device.Synchronize();
        Numerics.AssertClose(References.Softmax(x, rows, cols), dy.GetAsArray1D(), Tolerance, $"Softmax {rows}x{cols} on {backend}");
    }

    [Theory]
    [InlineData(32)]
    [InlineData(128)]
    [InlineData(1)]
    public void CpuPathIsCorrectForEveryGroupSize(int blockSize)
    {
        // The CPU path takes the constants as arguments: every listed value (and group size 1) must give the same result.
        const int rows = 4, cols = 96;
        var device = TestDevices.FastCpu;
        var x = Numerics.Random(rows * cols, seed: blockSize);
        var weight = Numerics.Random(cols, seed: blockSize + 1);
        using var dx = device.Allocate<float>(x.Length);
        using var dw = device.Allocate<float>(cols);
        using var dy = device.Allocate<float>(x.Length);
        dx.CopyFromCPU(x);
        dw.CopyFromCPU(weight);
        TestKernels.RmsNormCpu(dx.View, dw.View, dy.View, rows, cols, 1e-5f, blockSize);
        Numerics.AssertClose(References.RmsNorm(x, weight, rows, cols, 1e-5f), dy.GetAsArray1D(), Tolerance, $"RmsNormCpu blockSize {blockSize}");
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void EverySoftmaxVariantIsAValidIlgpuKernel(int blockSize)
    {
        const int rows = 2, cols = 70;
        var device = TestDevices.IlgpuCpu;
        var x = Numerics.Random(rows * cols, seed: 3 * blockSize, scale: 4f);
        using var dx = device.Accelerator.Allocate1D(x);
        using var dy = device.Accelerator.Allocate1D<float>(x.Length);
        Action<ArrayView<float>, ArrayView<float>, int, int> variant = blockSize == 32 ? TestKernels.Softmax__blockSize32 : TestKernels.Softmax__blockSize64;
        var kernel = device.Accelerator.LoadStreamKernel(variant);
        kernel(new KernelConfig(rows, blockSize), dx.View, dy.View, rows, cols);
        device.Synchronize();
        Numerics.AssertClose(References.Softmax(x, rows, cols), dy.GetAsArray1D(), Tolerance, $"Softmax__blockSize{blockSize}");
    }

    [Fact]
    public void SpecializedRmsNormVariantFoldsTheShape()
    {
        // RmsNorm__blockSize32_cols64 has no cols parameter: the shape is a constant inside it.
        var method = typeof(TestKernels).GetMethod("RmsNorm__blockSize32_cols64")!;
        Assert.DoesNotContain(method.GetParameters(), p => p.Name is "cols" or "blockSize");
        const int rows = 3, cols = 64;
        var device = TestDevices.IlgpuCpu;
        var x = Numerics.Random(rows * cols, seed: 5);
        var weight = Numerics.Random(cols, seed: 6);
        using var dx = device.Accelerator.Allocate1D(x);
        using var dw = device.Accelerator.Allocate1D(weight);
        using var dy = device.Accelerator.Allocate1D<float>(x.Length);
        var kernel = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(TestKernels.RmsNorm__blockSize32_cols64);
        kernel(new KernelConfig(rows, 32), dx.View, dw.View, dy.View, rows, 1e-6f);
        device.Synchronize();
        Numerics.AssertClose(References.RmsNorm(x, weight, rows, cols, 1e-6f), dy.GetAsArray1D(), Tolerance, "RmsNorm__blockSize32_cols64");
    }

    [Fact]
    public void LauncherCachesCompiledVariantsPerDevice()
    {
        var device = TestDevices.IlgpuCpu;
        const int n = 64;
        using var a = device.Allocate<float>(n);
        using var c = device.Allocate<float>(n);
        TestKernels.LaunchVectorAdd(device, a.View, a.View, c.View, n);
        int cached = device.CachedKernelCount;
        TestKernels.LaunchVectorAdd(device, a.View, a.View, c.View, n);
        device.Synchronize();
        Assert.True(cached >= 1);
        Assert.Equal(cached, device.CachedKernelCount);
    }

    [Fact]
    public void VariantListDescribesEveryVariant()
    {
        // RmsNorm: blockSize {32, 128} × cols {64, 256, generic}.
        Assert.Equal(6, TestKernels.RmsNormVariants.Count);
        Assert.Equal(2, TestKernels.RmsNormVariants.Count(v => v.IsGeneric));
        Assert.Contains(TestKernels.RmsNormVariants, v => v.Method == "RmsNorm__blockSize128_cols256"
            && v.Constants.Single() == new FoldedValue("blockSize", 128) && v.Shapes.Single() == new FoldedValue("cols", 256));
        foreach (var variant in TestKernels.RmsNormVariants)
            Assert.NotNull(typeof(TestKernels).GetMethod(variant.Method));
    }

    [SkippableTheory]
    [InlineData(KernelBackend.FastCpu, 64)]   // k folded: the k-loop is unrolled in the variant
    [InlineData(KernelBackend.FastCpu, 48)]   // generic variant
    [InlineData(KernelBackend.IlgpuCpu, 64)]
    [InlineData(KernelBackend.IlgpuCpu, 32)]
    [InlineData(KernelBackend.Cuda, 64)]      // mma.sync through the PTX intrinsic
    [InlineData(KernelBackend.Cuda, 256)]
    public void TensorCoreGemmMatchesReference(KernelBackend backend, int k)
    {
        const int m = 32, n = 16;
        var device = TestDevices.Get(backend);
        var a = Numerics.Random(m * k, seed: k).Select(KernelSharp.Dsl.Bf16.FromFloat).ToArray();
        var b = Numerics.Random(k * n, seed: k + 1).Select(KernelSharp.Dsl.Bf16.FromFloat).ToArray();
        using var da = device.Allocate<ushort>(a.Length);
        using var db = device.Allocate<ushort>(b.Length);
        using var dc = device.Allocate<float>(m * n);
        da.CopyFromCPU(a);
        db.CopyFromCPU(b);
        TensorCoreKernels.LaunchMmaGemm(device, da.View, db.View, dc.View, m, n, k);
        device.Synchronize();
        Numerics.AssertClose(References.MatMulBf16(a, b, m, n, k), dc.GetAsArray1D(), 1e-4f, $"MmaGemm {m}x{n}x{k} on {backend}");
    }

    [Fact]
    public void AutotuningAnInPlaceCallLeavesTheResultOfOneRun()
    {
        // Output == input: re-running the kernel would divide again. The autotuner must restore the data between runs.
        using var scope = new AutotuneScope();
        const int rows = 3, cols = 100;
        var device = TestDevices.FastCpu;
        var x = Numerics.Random(rows * cols, seed: 99, scale: 4f);
        using var buffer = device.Allocate<float>(x.Length);
        buffer.CopyFromCPU(x);
        TestKernels.LaunchScaleByRowMax(device, buffer.View, buffer.View, rows, cols);
        device.Synchronize();
        var expected = new float[x.Length];
        for (int r = 0; r < rows; r++)
        {
            float max = x.Skip(r * cols).Take(cols).Max(Math.Abs);
            for (int c = 0; c < cols; c++)
                expected[r * cols + c] = x[r * cols + c] / max;
        }
        Numerics.AssertClose(expected, buffer.GetAsArray1D(), 1e-6f, "in-place ScaleByRowMax");
        Assert.Contains("ScaleByRowMax/cpu", File.ReadAllText(scope.Path)); // it was tuned, not skipped
    }
    [SkippableTheory]
    [InlineData(KernelBackend.FastCpu, false)]
    [InlineData(KernelBackend.FastCpu, true)]
    [InlineData(KernelBackend.IlgpuCpu, false)]
    [InlineData(KernelBackend.IlgpuCpu, true)]
    [InlineData(KernelBackend.Cuda, false)]
    [InlineData(KernelBackend.Cuda, true)]
    [InlineData(KernelBackend.OpenCL, true)]
    public void FormatGenericRowDotMatchesReferenceInEachFormat(KernelBackend backend, bool bf16)
    {
        const int rows = 7, cols = 300;
        var device = TestDevices.Get(backend);
        var weights = Numerics.Random(rows * cols, seed: 3);
        var bits = weights.Select(KernelSharp.Dsl.Bf16.FromFloat).ToArray();
        // The bf16 run is checked against the weights it actually holds (rounded), so both formats get one tolerance.
        var held = bf16 ? bits.Select(KernelSharp.Dsl.Bf16.ToFloat).ToArray() : weights;
        var x = Numerics.Random(cols, seed: 4);
        var expected = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, cols).Sum(c => (double)held[r * cols + c] * x[c])).Select(v => (float)v).ToArray();

        using var dx = device.Allocate<float>(cols);
        using var dy = device.Allocate<float>(rows);
        dx.CopyFromCPU(x);
        if (bf16)
        {
            using var dw = device.Allocate<ushort>(bits.Length);
            dw.CopyFromCPU(bits);
            TestKernels.LaunchRowDot(device, new Bf16Rows { Bits = dw.View }, dx.View, dy.View, rows, cols);
            device.Synchronize();
        }
        else
        {
            using var dw = device.Allocate<float>(weights.Length);
            dw.CopyFromCPU(weights);
            TestKernels.LaunchRowDot(device, new Fp32Rows { Values = dw.View }, dx.View, dy.View, rows, cols);
            device.Synchronize();
        }
        Numerics.AssertClose(expected, dy.GetAsArray1D(), 1e-4f, $"RowDot<{(bf16 ? "Bf16Rows" : "Fp32Rows")}> on {backend}");
    }
}
