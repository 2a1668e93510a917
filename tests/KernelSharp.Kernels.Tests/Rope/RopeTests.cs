using KernelSharp.Kernels.Rope;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Rope;

/// <summary>
/// Interleaved and half-split rope on a strided [tokens, heads, nope ‖ rope] layout with padding between tokens:
/// the rope slice matches the reference and every other element is untouched.
/// </summary>
public abstract class RopeTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(true, 1, 1, 0, 2)]
    [InlineData(true, 5, 3, 7, 8)]
    [InlineData(false, 1, 1, 0, 2)]
    [InlineData(false, 5, 3, 7, 8)]
    [InlineData(false, 9, 4, 0, 64)] // the indexer: rope first
    [InlineData(true, 9, 4, 128, 64)] // MLA q: nope 128 then rope 64
    public void Matches_reference_and_leaves_the_rest(bool interleaved, int tokens, int heads, int ropeOffset, int ropeDim)
    {
        RequireBackend();
        var random = NewRandom(tokens * 131 + heads * 7 + ropeDim + (interleaved ? 1 : 0));
        int headStride = ropeOffset + ropeDim + 3; // a few extra values after the rope slice
        int tokenStride = heads * headStride + 5;  // and padding between tokens
        float[] x = RandomTensors.Normal(random, (long)tokens * tokenStride);
        const int maxPosition = 5000;
        int[] positions = RandomTensors.Indices(random, tokens, maxPosition);
        var frequencies = RopeFrequencies.Yarn(ropeDim, 10000, 40, 4096, 32, 1, 1, 1);
        var (cos, sin) = frequencies.BuildTables(maxPosition);
        double[] expected = interleaved
            ? RopeReference.ApplyInterleaved(x, positions, cos, sin, heads, tokenStride, headStride, ropeOffset, ropeDim)
            : RopeReference.ApplyHalfSplit(x, positions, cos, sin, heads, tokenStride, headStride, ropeOffset, ropeDim);

        using var xs = Upload(x);
        using var p = Upload(positions);
        using var c = Upload(cos);
        using var s = Upload(sin);
        string name = interleaved ? nameof(RopeKernels.RopeInterleaved) : nameof(RopeKernels.RopeHalfSplit);
        int pairs = tokens * heads * (ropeDim / 2);
        Launch(typeof(RopeKernels).GetMethod(name)!, Config((pairs + 255) / 256, 1, 256),
            xs.View, p.View, c.View, s.View, tokens, heads, tokenStride, headStride, ropeOffset, ropeDim);

        Tolerance.AssertClose(expected, Download(xs), new Tolerance(1e-5, 1e-6), $"{name} output");
    }
}

public sealed class RopeTests_FastCpu(FastCpuBackend b) : RopeTests(b), IClassFixture<FastCpuBackend>;
public sealed class RopeTests_IlgpuCpu(IlgpuCpuBackend b) : RopeTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class RopeTests_Cuda(CudaBackend b) : RopeTests(b), IClassFixture<CudaBackend>;
public sealed class RopeTests_OpenCL(OpenCLBackend b) : RopeTests(b), IClassFixture<OpenCLBackend>;
