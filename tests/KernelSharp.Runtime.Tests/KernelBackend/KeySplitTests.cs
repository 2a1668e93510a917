using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model.Kernels;
using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>How sparse attention splits the selected keys across groups (the split path itself is checked against the
/// reference in the kernel tests and end to end by the CUDA golden decode that crosses index_topk).</summary>
public sealed class KeySplitTests
{
    [Theory]
    [InlineData(KernelBackend.FastCpu, 1, 128, 2048, 1)]    // 16 head groups already fill 2 host threads
    [InlineData(KernelBackend.IlgpuCpu, 1, 128, 2048, 1)]
    [InlineData(KernelBackend.Cuda, 1, 16, 2048, 128)]      // 1 head block → one slice per key tile (128)
    [InlineData(KernelBackend.Cuda, 1, 128, 2048, 128)]     // 8 head blocks → 128 slices of 1 tile
    [InlineData(KernelBackend.Cuda, 64, 16, 2048, 16)]      // mid-5b at batch 64: 64 groups → 16 slices of 8 tiles
    [InlineData(KernelBackend.Cuda, 64, 128, 2048, 2)]      // 512 groups → 2 slices
    [InlineData(KernelBackend.Cuda, 128, 128, 2048, 1)]     // 1024 groups already
    [InlineData(KernelBackend.Cuda, 1, 4, 32, 2)]           // the tiny fixture: 32 keys are 2 tiles
    [InlineData(KernelBackend.OpenCL, 4, 16, 8, 1)]         // fewer keys than a tile
    public void Splits_fill_the_gpu_but_never_exceed_the_key_tiles(KernelBackend backend, int rows, int heads, int keys, int expected)
        => Assert.Equal(expected, KernelMlaAttention.KeySplits(backend, rows, heads, keys, hostThreads: 2));

    [Theory]
    [InlineData(1, 8, 64, 2, 2)]     // one sequence, one head group: a slice per host thread
    [InlineData(1, 8, 64, 8, 4)]     // never more slices than key tiles (64 keys = 4 tiles)
    [InlineData(1, 8, 10, 2, 1)]     // fewer keys than a tile
    [InlineData(3, 8, 2048, 8, 3)]   // 3 groups, 8 threads → 3 slices each
    [InlineData(4, 16, 2048, 2, 1)]  // 8 groups already fill 2 threads
    public void On_the_cpu_splits_give_every_host_thread_a_group(int rows, int heads, int keys, int threads, int expected)
        => Assert.Equal(expected, KernelMlaAttention.KeySplits(KernelBackend.FastCpu, rows, heads, keys, threads));
}
