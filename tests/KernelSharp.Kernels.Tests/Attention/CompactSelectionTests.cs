using KernelSharp.Kernels.Attention;
using KernelSharp.Kernels.Paging;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Attention;

/// <summary>
/// <see cref="SelectionKernels.CompactSelection"/> against <see cref="SelectionCompactionReference"/>: the visible keys of
/// each query's selection, in slot order, written as cache rows — rows 0..position of an unpaged cache, or rows scattered
/// over a paged pool (<see cref="ScatteredPages"/>).
/// </summary>
public abstract class CompactSelectionTests(BackendFixture backend) : BackendTestBase(backend)
{
    [SkippableTheory]
    [InlineData(70, 9)]    // k below the group's 128 threads: most threads own no slot
    [InlineData(5, 300)]   // k spread unevenly over the threads
    public void Unpaged_selection_compacts_to_the_visible_keys(int queries, int k)
    {
        RequireBackend();
        var random = NewRandom(queries * 1000 + k);
        int[] positions = Enumerable.Range(0, queries).Select(_ => random.Next(-1, k + 50)).ToArray(); // −1: a query that sees nothing
        int[] selected = Enumerable.Range(0, queries * k).Select(_ => random.Next(-1, k + 60)).ToArray(); // −1 slots and keys past a query's position
        AssertCompacts(selected, KeyPagesReference.Contiguous(positions), k);
    }

    [SkippableTheory]
    [MemberData(nameof(ScatteredPages.Cases), MemberType = typeof(ScatteredPages))]
    public void Paged_selection_compacts_to_the_cache_rows_of_the_visible_keys(int pagesCase)
    {
        RequireBackend();
        var pages = ScatteredPages.Case(pagesCase);
        var random = NewRandom(40 + pagesCase);
        const int k = 20;
        // Keys of each query's own sequence in any order (positions up to 15, past some queries' positions), and −1 slots.
        int[] selected = Enumerable.Range(0, pages.Rows * k).Select(_ => random.Next(-1, 16)).ToArray();
        AssertCompacts(selected, pages, k);
    }

    private void AssertCompacts(int[] selected, KeyPagesReference hostPages, int k)
    {
        int queries = hostPages.Rows;
        int[][] expected = SelectionCompactionReference.Compact(selected, hostPages, k);
        Assert.Contains(expected, row => row.Length > 0);
        using var selectedBuffer = Upload(selected);
        using var pages = Upload(hostPages);
        using var compacted = Allocate<int>((long)queries * k);
        using var counts = Allocate<int>(queries);
        Launch(typeof(SelectionKernels).GetMethod(nameof(SelectionKernels.CompactSelection))!, Config(queries, 1, 128),
            selectedBuffer.View, pages.Pages, compacted.View, counts.View, queries, k);

        int[] actualRows = Download(compacted);
        int[] actualCounts = Download(counts);
        for (int q = 0; q < queries; q++)
        {
            Assert.Equal(expected[q].Length, actualCounts[q]);
            Assert.Equal(expected[q], actualRows.AsSpan(q * k, actualCounts[q]).ToArray());
        }
    }
}

public sealed class CompactSelectionTests_FastCpu(FastCpuBackend b) : CompactSelectionTests(b), IClassFixture<FastCpuBackend>;
public sealed class CompactSelectionTests_IlgpuCpu(IlgpuCpuBackend b) : CompactSelectionTests(b), IClassFixture<IlgpuCpuBackend>;
public sealed class CompactSelectionTests_Cuda(CudaBackend b) : CompactSelectionTests(b), IClassFixture<CudaBackend>;
