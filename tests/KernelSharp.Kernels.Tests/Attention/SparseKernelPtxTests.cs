using System.Reflection;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Indexer;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.TopK;
using Snapshooter;
using Snapshooter.Xunit;
using Xunit;

namespace KernelSharp.Kernels.Tests.Attention;

/// <summary>
/// The sparse-attention and MoE kernels compiled to PTX by ILGPU's CUDA backend (sm_80, no GPU needed): every
/// kernel and each of its generated variants must compile (the CPU tests alone would not notice a construct the
/// GPU backend rejects), and the decode kernels are snapshot-tested so a change in their code shows up in review.
/// </summary>
public class SparseKernelPtxTests
{
    public static TheoryData<string> AllKernels()
    {
        var data = new TheoryData<string>();
        foreach (var method in KernelMethods())
        {
            data.Add($"{method.DeclaringType!.Name}.{method.Name}");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AllKernels))]
    public void Kernel_compiles_to_ptx(string kernel)
    {
        var method = KernelMethods().Single(m => $"{m.DeclaringType!.Name}.{m.Name}" == kernel);
        string ptx = Compile(method);
        Assert.Contains(".entry", ptx);
    }

    [Fact]
    public void Sparse_mla_decode_ptx_snapshot()
    {
        string ptx = PtxScrubber.Scrub(Compile(typeof(MlaKernels).GetMethod(nameof(MlaKernels.SparseMlaAttention))!));
        Assert.Contains("ld.global.v4.f32", ptx);   // KsVector.LoadFloat4 / Dot: 16-byte loads of latent rows
        Assert.Contains("ex2.approx", ptx);   // the online softmax's exp
        Assert.Contains("bar.sync", ptx);
        Assert.Contains(".shared", ptx);
        Snapshot.Match(ptx, SnapshotNameExtension.Create("ptx"));
    }

    [Fact]
    public void Indexer_fp8_decode_reduces_each_key_with_warp_shuffles()
    {
        string ptx = PtxScrubber.Scrub(Compile(typeof(IndexerKernels).GetMethod(nameof(IndexerKernels.IndexerDecodeFp8))!));
        Assert.Contains("shfl.sync.bfly", ptx);
        Snapshot.Match(ptx, SnapshotNameExtension.Create("ptx"));
    }

    /// <summary>PTX at the optimization level <see cref="Dsl.Launch.KernelDevice"/> uses (O2: vectorized 16-byte accesses).</summary>
    private static string Compile(MethodInfo kernel) => PtxCompiler.Compile(kernel, optimization: ILGPU.OptimizationLevel.O2);

    /// <summary>Every [Kernel] method and every generated variant of one (<c>Name__...</c>: what GPU launches run).</summary>
    private static IEnumerable<MethodInfo> KernelMethods()
    {
        var methods = new[] { typeof(IndexerKernels), typeof(TopKKernels), typeof(MlaKernels), typeof(MoeKernels) }
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .ToArray();
        var kernelNames = methods.Where(m => m.GetCustomAttribute<KernelAttribute>() is not null).Select(m => m.Name).ToHashSet();
        return methods
            .Where(m => kernelNames.Contains(m.Name) || (m.Name.Contains("__", StringComparison.Ordinal) && kernelNames.Contains(m.Name[..m.Name.IndexOf("__", StringComparison.Ordinal)])))
            .OrderBy(m => m.DeclaringType!.Name, StringComparer.Ordinal)
            .ThenBy(m => m.Name, StringComparer.Ordinal);
    }
}
