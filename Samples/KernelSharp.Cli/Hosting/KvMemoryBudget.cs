using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// serve's --kv-memory as the engine's KV budget in cache positions. Its lower bound follows from config.json and -c
/// alone, so it is checked before the server listens and before any weight is read: at least one sequence of a full
/// context (-c). A larger budget than --max-batch full contexts is capped there, not refused: a sequence reserves at most
/// -c positions and at most --max-batch run at once, so the rest would never be allocated (a generous "2G" on a small
/// model is a reasonable thing to type, and even a slip such as T for G then costs nothing).
/// </summary>
public static class KvMemoryBudget
{
    /// <summary>The budget in positions: --kv-memory / bytes per position, or --max-batch full contexts when it is absent.</summary>
    public static long Positions(ParsedArguments args, ModelConfig config, KvCacheFormat kvCache, int maxBatch, int contextSize)
    {
        long fullBatch = (long)maxBatch * contextSize;
        if (ByteSize.Read(args, "kv-memory") is not long kvMemory)
        {
            return fullBatch;
        }

        long perPosition = MemoryEstimate.For(config, WeightStorage.Float32, 1, kvCache).CacheBytes; // in the sessions' own cache format
        // The bound is shown rounded up, in the option's own syntax: typed back, it is accepted.
        if (kvMemory < perPosition * contextSize)
        {
            throw new UsageException(
                $"--kv-memory must hold at least one sequence of {contextSize} tokens (-c): {ByteSize.FormatRoundedUp(perPosition * contextSize)} or more, " +
                $"got '{args.String("kv-memory")}'");
        }

        return Math.Min(kvMemory / perPosition, fullBatch);
    }
}
