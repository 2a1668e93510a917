using System.Reflection;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Indexer;
using Snapshooter;
using Snapshooter.Xunit;
using Xunit;

namespace KernelSharp.Kernels.Tests.Attention;

/// <summary>
/// PTX snapshots of the sparse-attention decode kernels (ILGPU's CUDA backend, sm_80, no GPU needed), so a change in
/// their code shows up in review. That every kernel compiles is checked for the whole library by PtxValidityTests.
/// </summary>
public class SparseKernelPtxTests
{
    [Fact]
    public void Sparse_mla_decode_ptx_snapshot()
    {
        string ptx = PtxScrubber.Scrub(Compile(typeof(MlaKernels).GetMethod(nameof(MlaKernels.MlaAttention))!.MakeGenericMethod(typeof(F32Rows), typeof(SelectedKeys))));
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
}
