using System.Reflection;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using Xunit;

namespace KernelSharp.Kernels.Tests.Linear;

/// <summary>
/// What the speed of <see cref="TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/> rests on, read from its PTX (sm_80,
/// no GPU needed), for bf16 and fp8 weights: accumulators in registers (no <c>.local</c>), per k stage 2 × (4 + 4)
/// ldmatrix.x4 for 2 × 32 mma, 8-byte stores of C, and the shared memory and cp.async wait count that match the stage
/// count: 48 KB or less static, deeper pipelines in dynamic shared memory only. bf16 weights go by cp.async alone, fp8
/// weights by 16-byte loads of codes, landed as bf16 pairs by <c>cvt.rn.bf16x2.f32</c>.
/// </summary>
public sealed class TensorCoreGemmPtxTests
{
    public static TheoryData<Type, int, int, string, int> Variants
    {
        get
        {
            var data = new TheoryData<Type, int, int, string, int>();
            foreach (var format in new[] { typeof(Bf16Rows), typeof(Fp8BlockRows) })
            {
                data.Add(format, 128, 3, "cp.async.wait_group 1;", 48 * 1024); // all but the newest group done
                data.Add(format, 256, 2, "cp.async.wait_group 0;", 48 * 1024); // everything committed done
                data.Add(format, 128, 2, "cp.async.wait_group 0;", 32 * 1024);
                data.Add(format, 128, 4, "cp.async.wait_group 2;", 0);         // 64 KB: dynamic
                data.Add(format, 256, 3, "cp.async.wait_group 1;", 0);         // 72 KB: dynamic
                data.Add(format, 256, 4, "cp.async.wait_group 2;", 0);         // 96 KB: dynamic
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Variant_keeps_fragments_in_registers_and_waits_for_its_stage(Type format, int tileN, int stages, string wait, int staticBytes)
    {
        string name = $"TensorCoreGemm__tileN{tileN}_stages{stages}";
        var variant = typeof(TensorCoreGemmKernels).GetMethod(name, BindingFlags.Public | BindingFlags.Static);
        Assert.NotNull(variant);
        string ptx = PtxCompiler.Compile(variant!.MakeGenericMethod(format, typeof(BatchItems)));

        Assert.DoesNotContain(".local", ptx);
        Assert.Equal(64, Count(ptx, "mma.sync.aligned.m16n8k16"));  // two k16 steps of a 64×64 warp block, written once
        Assert.Equal(16, Count(ptx, "ldmatrix.sync.aligned.m8n8.x4"));
        Assert.Equal(64, Count(ptx, "st.global.v2.f32"));          // one per 16×8 accumulator tile and row half
        Assert.Contains(wait, ptx);
        int sharedBytes = ptx.Split('\n')
            .Where(line => line.TrimStart().StartsWith(".shared", StringComparison.Ordinal))
            .Sum(line => int.Parse(line[(line.LastIndexOf('[') + 1)..line.LastIndexOf(']')]));
        Assert.Equal(staticBytes, sharedBytes);
        Assert.Equal(staticBytes == 0, ptx.Contains(".extern .shared", StringComparison.Ordinal));
        int dynamicBytes = TensorCoreGemmKernels.TensorCoreGemmVariants.Single(v => v.Method == name).DynamicSharedBytes;
        Assert.Equal(staticBytes == 0 ? stages * (128 + tileN) * 64 : 0, dynamicBytes); // stages × (A + W rows) × 64 bytes
        if (format == typeof(Fp8BlockRows))
        {
            Assert.Contains("ld.global.v4", ptx); // 16 fp8 weights per load
            // A thread's two runs of 16 weights per stage (2·tileN runs, tileN threads) become bf16 pairs by one
            // conversion instruction each: (stages − 1) stages in the prologue, one in the loop.
            Assert.Equal(stages * 16, Count(ptx, "cvt.rn.bf16x2.f32"));
        }
        else
        {
            Assert.DoesNotContain("ld.global.v4", ptx); // bf16 weights never pass through registers
            Assert.DoesNotContain("cvt.rn.bf16x2.f32", ptx);
        }
    }

    private static int Count(string text, string what) => text.Split(what).Length - 1;
}
