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

    [SkippableTheory]
    [InlineData(true, 1, 64, 0, 64, false)]    // MLA k_pe: the whole row rotates
    [InlineData(false, 1, 128, 0, 64, false)]  // an indexer key: rope first, nope copied
    [InlineData(true, 5, 20, 6, 8, false)]
    [InlineData(false, 7, 21, 3, 16, false)]
    [InlineData(true, 5, 20, 6, 8, true)]      // rows scattered over a paged pool, in reverse order with gaps
    [InlineData(false, 7, 21, 3, 16, true)]
    public void Copy_rows_rotate_into_the_destination_and_touch_nothing_else(bool interleaved, int rows, int width, int ropeOffset, int ropeDim, bool scattered)
    {
        RequireBackend();
        var random = NewRandom(rows * 17 + width + ropeOffset + (interleaved ? 1 : 0));
        int sourceStride = width + 9, destinationStride = width + 4;   // source rows inside wider rows, destination a window
        long sourceOffset = 11, destinationOffset = destinationStride * 2 + 3;
        float[] source = RandomTensors.Normal(random, sourceOffset + (long)rows * sourceStride);
        int[] destinationRows = Enumerable.Range(0, rows).Select(r => scattered ? 2 * (rows - 1 - r) + 1 : r).ToArray();
        int destinationRowCount = scattered ? 2 * rows + 1 : rows;
        float[] initial = RandomTensors.Normal(random, destinationOffset + (long)destinationRowCount * destinationStride + 2);
        const int maxPosition = 3000;
        int[] positions = RandomTensors.Indices(random, rows, maxPosition);
        var (cos, sin) = RopeFrequencies.Yarn(ropeDim, 10000, 40, 4096, 32, 1, 1, 1).BuildTables(maxPosition);
        double[] rotated = RopeReference.CopyRows(source, sourceStride, sourceOffset, rows, width, positions, cos, sin, ropeOffset, ropeDim, interleaved);
        var expected = initial.Select(v => (double)v).ToArray(); // [destination]: the rotated rows land in their window only
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(rotated, (long)r * width, expected, destinationOffset + (long)destinationRows[r] * destinationStride, width);
        }

        using var from = Upload(source);
        using var to = Upload(initial);
        using var toRows = Upload(destinationRows);
        using var p = Upload(positions);
        using var c = Upload(cos);
        using var s = Upload(sin);
        Launch(typeof(RopeKernels).GetMethod(nameof(RopeKernels.RopeCopyRows))!, Config((rows * width + 255) / 256, 1, 256),
            from.View.SubView(sourceOffset, source.Length - sourceOffset), to.View, toRows.View, p.View, c.View, s.View, rows, width, sourceStride, destinationStride, destinationOffset,
            ropeOffset, ropeDim, interleaved ? 0 : 1);

        Tolerance.AssertClose(expected, Download(to), new Tolerance(1e-5, 1e-6), "RopeCopyRows destination");
    }
}

public sealed class RopeTests_FastCpu(FastCpuBackend b) : RopeTests(b), IClassFixture<FastCpuBackend>;
public sealed class RopeTests_IlgpuCpu(IlgpuCpuBackend b) : RopeTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class RopeTests_Cuda(CudaBackend b) : RopeTests(b), IClassFixture<CudaBackend>;
public sealed class RopeTests_OpenCL(OpenCLBackend b) : RopeTests(b), IClassFixture<OpenCLBackend>;
