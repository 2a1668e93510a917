using KernelSharp.Kernels.Paging;
using Xunit;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// The paged caches of the kernel tests: a pool of 8 blocks of 4 rows shared by three sequences whose blocks are
/// scattered and out of order ({5, 2, 7}, {0, 3}, {6, 1, 4}), so a kernel that ignores the table, reads the table of the
/// wrong row or mixes up block and offset reads some other sequence's rows.
/// </summary>
public static class ScatteredPages
{
    public const int BlockSize = 4;

    /// <summary>Rows of the pool (8 blocks).</summary>
    public const int PoolRows = 8 * BlockSize;

    private static readonly int[][] BlockTables = [[5, 2, 7], [0, 3], [6, 1, 4]];

    /// <summary>Names of <see cref="Case"/>'s cases, for theory data.</summary>
    public static TheoryData<int> Cases => new() { 0, 1 };

    /// <summary>
    /// Case 0: a decode step of the three sequences (one row each, at positions 9, 6 and 11: each crosses a block
    /// boundary, the second sequence stops mid-block). Case 1: two rows of the third sequence (a prefill chunk at 10,
    /// 11) and one of the second at 4 (the first row of its second block).
    /// </summary>
    public static KeyPagesReference Case(int index) => index switch
    {
        0 => KeyPagesReference.Paged([9, 6, 11], [0, 1, 2], BlockTables, BlockSize),
        1 => KeyPagesReference.Paged([10, 11, 4], [2, 2, 1], BlockTables, BlockSize),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };
}
