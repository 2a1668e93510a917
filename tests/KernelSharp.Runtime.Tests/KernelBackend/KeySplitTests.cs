using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model.Kernels;
using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>How sparse attention splits the selected keys across groups (the split path itself is checked against the
/// reference in the kernel tests and end to end by the CUDA golden decode that crosses index_topk).</summary>
public sealed class KeySplitTests
{
    [Theory]
    [InlineData(KernelBackend.FastCpu, 1, 128, 2048, 1)]    // the CPU runs one group per host thread anyway
    [InlineData(KernelBackend.IlgpuCpu, 1, 128, 2048, 1)]
    [InlineData(KernelBackend.Cuda, 1, 16, 2048, 128)]      // 1 head block → one slice per key tile (128)
    [InlineData(KernelBackend.Cuda, 1, 128, 2048, 128)]     // 8 head blocks → 128 slices of 1 tile
    [InlineData(KernelBackend.Cuda, 64, 16, 2048, 16)]      // mid-5b at batch 64: 64 groups → 16 slices of 8 tiles
    [InlineData(KernelBackend.Cuda, 64, 128, 2048, 2)]      // 512 groups → 2 slices
    [InlineData(KernelBackend.Cuda, 128, 128, 2048, 1)]     // 1024 groups already
    [InlineData(KernelBackend.Cuda, 1, 4, 32, 2)]           // the tiny fixture: 32 keys are 2 tiles
    [InlineData(KernelBackend.OpenCL, 4, 16, 8, 1)]         // fewer keys than a tile
    public void Splits_fill_the_gpu_but_never_exceed_the_key_tiles(KernelBackend backend, int rows, int heads, int keys, int expected)
        => Assert.Equal(expected, KernelMlaAttention.KeySplits(backend, rows, heads, keys));
}
