using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace KernelSharp.Dsl.Tests;

/// <summary>The real tensor-core path; skipped on machines without a CUDA device.</summary>
public class CudaTensorCoreTests
{
    [SkippableFact]
    public void LdMatrixMmaTileMatchesFloat64OnCuda()
    {
        using var context = Context.Create(builder => builder.Cuda());
        Skip.If(context.GetCudaDevices().Count == 0, "no CUDA device");
        KernelSharpIntrinsics.Register(context);
        using var accelerator = context.CreateCudaAccelerator(0);
        var random = new RandomData();
        var tile = new TileData(random, withAccumulator: false);
        using var a = accelerator.Allocate1D(tile.A);
        using var bt = accelerator.Allocate1D(tile.Bt);
        using var d = accelerator.Allocate1D<float>(16 * 8);
        var kernel = accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>>(TensorCoreKernels.LdMatrixMmaTile);
        kernel(new KernelConfig(1, 32), a.View, bt.View, d.View);
        accelerator.Synchronize();
        double error = tile.RelativeError(d.GetAsArray1D());
        Assert.True(error < 1e-2, $"seed {random.Seed}: relative error {error}");

        var direct = accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>>(TensorCoreKernels.MmaTile);
        var withC = new TileData(random);
        using var a2 = accelerator.Allocate1D(withC.A);
        using var bt2 = accelerator.Allocate1D(withC.Bt);
        using var c2 = accelerator.Allocate1D(withC.C);
        direct(new KernelConfig(1, 32), a2.View, bt2.View, c2.View, d.View);
        accelerator.Synchronize();
        double directError = withC.RelativeError(d.GetAsArray1D());
        Assert.True(directError < 1e-2, $"seed {random.Seed}: relative error {directError} (fragments from global memory)");
    }
}
