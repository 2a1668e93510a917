namespace KernelSharp.Runtime.Tests.Reference;

/// <summary>Splits work over host threads only when it is big enough to pay for the scheduling.</summary>
internal static class CpuParallel
{
    /// <summary>Multiply-adds below which a loop runs on the calling thread (thread hand-off costs a few microseconds).</summary>
    private const long SerialWorkLimit = 1 << 16;

    /// <summary>Runs body(start, end) over [0, count) in contiguous chunks; <paramref name="workPerItem"/> estimates the cost of one item.</summary>
    public static void For(int count, long workPerItem, Action<int, int> body)
    {
        if (count <= 0)
        {
            return;
        }

        int threads = Environment.ProcessorCount;
        var chunks = (int)Math.Min(count, threads * 4L);
        if (chunks <= 1 || threads == 1 || count * workPerItem < SerialWorkLimit)
        {
            body(0, count);
            return;
        }

        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, chunk =>
        {
            var start = (int)((long)count * chunk / chunks);
            var end = (int)((long)count * (chunk + 1) / chunks);
            body(start, end);
        });
    }
}
