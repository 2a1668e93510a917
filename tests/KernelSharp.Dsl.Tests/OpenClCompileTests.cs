namespace KernelSharp.Dsl.Tests;

/// <summary>Kernels using the collectives and tensor-core intrinsics compile for OpenCL devices without sub-groups,
/// through the shuffle-free versions registered by KernelSharpIntrinsics.</summary>
public class OpenClCompileTests
{
    [Theory]
    [InlineData(nameof(TensorCoreKernels.MmaTile))]
    [InlineData(nameof(TensorCoreKernels.LdMatrixMmaTile))]
    [InlineData(nameof(TensorCoreKernels.RowSumMax))]
    [InlineData(nameof(TensorCoreKernels.RowDot))]
    public void CompilesWithoutShuffles(string kernel)
    {
        string source = OpenClSource.Compile(typeof(TensorCoreKernels).GetMethod(kernel)!);
        Assert.Contains("kernel void Kernel_" + kernel, source);
        Assert.DoesNotContain("shuffle", source);
        Assert.DoesNotContain("sub_group", source);
    }
}
