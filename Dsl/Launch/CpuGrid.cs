using System.Collections.Concurrent;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// Runs the groups of a generated CPU path in parallel. Groups are independent by the GPU programming model, so any
/// order is valid; chunked ranges keep the per-group scheduling cost small when groups are tiny.
/// </summary>
public static class CpuGrid
{
    /// <summary>Calls <paramref name="group"/>(x, y) for every group of a <paramref name="gridX"/> × <paramref name="gridY"/> grid.</summary>
    public static void For(int gridX, int gridY, Action<int, int> group)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (gridX < 0 || gridY < 0)
            throw new ArgumentOutOfRangeException(nameof(gridX), $"grid {gridX}×{gridY} must not be negative");
        long count = (long)gridX * gridY;
        if (count == 0)
            return;
        if (count == 1)
        {
            group(0, 0);
            return;
        }
        // About four chunks per core balances uneven groups without paying a task per group.
        long chunk = Math.Max(1, count / (Environment.ProcessorCount * 4L));
        try
        {
            Parallel.ForEach(Partitioner.Create(0L, count, chunk), range =>
            {
                for (long g = range.Item1; g < range.Item2; g++)
                    group((int)(g % gridX), (int)(g / gridX));
            });
        }
        catch (AggregateException failure) when (failure.InnerExceptions.Count > 0)
        {
            // A kernel's own exception (a Debug bounds check) reaches the caller as itself, as it does with one group;
            // other groups failing the same way add nothing.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure.InnerExceptions[0]).Throw();
        }
    }
}
