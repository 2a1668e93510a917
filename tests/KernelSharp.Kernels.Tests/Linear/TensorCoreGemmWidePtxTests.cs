using System.Reflection;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Linear;
using Xunit;

namespace KernelSharp.Kernels.Tests.Linear;

/// <summary>
/// What the speed of <see cref="TensorCoreGemmKernels.TensorCoreGemmWideBf16"/> rests on, read from its PTX (sm_80,
/// no GPU needed): accumulators in registers (no <c>.local</c>), per k stage 2 × (4 + 4) ldmatrix.x4 for 2 × 32 mma,
/// 8-byte stores of C, 48 KB of static shared memory, and the cp.async wait count that matches the stage count.
/// </summary>
public sealed class TensorCoreGemmWidePtxTests
{
    [Theory]
    [InlineData(128, "cp.async.wait_group 1;")] // three stages: all but the newest group done
    [InlineData(256, "cp.async.wait_group 0;")] // two stages: everything committed done
    public void Wide_variant_keeps_fragments_in_registers_and_waits_for_its_stage(int tileN, string wait)
    {
        var variant = typeof(TensorCoreGemmKernels).GetMethod($"TensorCoreGemmWideBf16__tileN{tileN}", BindingFlags.Public | BindingFlags.Static);
        Assert.NotNull(variant);
        string ptx = PtxCompiler.Compile(variant!);

        Assert.DoesNotContain(".local", ptx);
        Assert.Equal(64, Count(ptx, "mma.sync.aligned.m16n8k16"));  // two k16 steps of a 64×64 warp block, written once
        Assert.Equal(16, Count(ptx, "ldmatrix.sync.aligned.m8n8.x4"));
        Assert.Equal(64, Count(ptx, "st.global.v2.f32"));          // one per 16×8 accumulator tile and row half
        Assert.Contains(wait, ptx);
        int sharedBytes = ptx.Split('\n')
            .Where(line => line.TrimStart().StartsWith(".shared", StringComparison.Ordinal))
            .Sum(line => int.Parse(line[(line.LastIndexOf('[') + 1)..line.LastIndexOf(']')]));
        Assert.Equal(48 * 1024, sharedBytes);
    }

    [Fact]
    public void Wide_fp8_variant_keeps_fragments_in_registers()
    {
        var variant = typeof(TensorCoreGemmKernels).GetMethod($"{nameof(TensorCoreGemmKernels.TensorCoreGemmWideFp8)}__generic", BindingFlags.Public | BindingFlags.Static);
        Assert.NotNull(variant);
        string ptx = PtxCompiler.Compile(variant!);

        Assert.DoesNotContain(".local", ptx);
        Assert.Equal(64, Count(ptx, "mma.sync.aligned.m16n8k16"));
        Assert.Equal(16, Count(ptx, "ldmatrix.sync.aligned.m8n8.x4"));
        Assert.Equal(64, Count(ptx, "st.global.v2.f32"));
        Assert.Contains("ld.global.v4", ptx); // 16 fp8 weights per load
    }

    private static int Count(string text, string what) => text.Split(what).Length - 1;
}
