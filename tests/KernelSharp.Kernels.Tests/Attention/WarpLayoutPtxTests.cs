using System.Reflection;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Moe;
using Xunit;

namespace KernelSharp.Kernels.Tests.Attention;

/// <summary>
/// What the GPU layouts' speed rests on, read from the PTX ILGPU writes for CUDA (no GPU needed): the warp-heads MLA
/// keeps its query chunks and o_lat sums in registers (no <c>.local</c> array) and sums scores with warp shuffles; the
/// rows form of the grouped expert FFN keeps its item sums in registers too.
/// </summary>
public sealed class WarpLayoutPtxTests
{
    [Theory]
    [InlineData(typeof(F32Rows), typeof(SelectedKeySlices))]
    [InlineData(typeof(Bf16Rows), typeof(DenseKeySlices))]
    [InlineData(typeof(Fp8LatentRows), typeof(DenseKeys))]
    public void Warp_heads_attention_keeps_its_chunks_in_registers(Type cache, Type keys)
    {
        string ptx = Compile(typeof(MlaKernels), $"{nameof(MlaKernels.MlaAttentionWarpHeads)}__generic", cache, keys);

        Assert.DoesNotContain(".local", ptx);
        Assert.Contains("shfl.sync.bfly", ptx);
    }

    [Theory]
    [InlineData(nameof(MoeKernels.GroupedFfnGateUpRows))]
    [InlineData(nameof(MoeKernels.GroupedFfnDownRows))]
    public void Rows_form_of_the_expert_ffn_keeps_its_sums_in_registers(string kernel)
    {
        string ptx = Compile(typeof(MoeKernels), $"{kernel}__itemsPerWarp4", typeof(Bf16Rows));

        Assert.DoesNotContain(".local", ptx);
        Assert.Contains("ld.global.v4", ptx); // 16-byte weight chunks
    }

    private static string Compile(Type kernels, string variant, params Type[] typeArguments)
    {
        var method = kernels.GetMethod(variant, BindingFlags.Public | BindingFlags.Static);
        Assert.NotNull(method);
        return PtxCompiler.Compile(method!.MakeGenericMethod(typeArguments), optimization: ILGPU.OptimizationLevel.O2);
    }
}
