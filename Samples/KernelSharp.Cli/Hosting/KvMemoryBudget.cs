using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// serve's --kv-memory as the engine's KV budget in cache positions. Its range follows from config.json, -c and
/// --max-batch alone, so it is checked before the server listens and before any weight is read: at least one sequence of
/// a full context (-c), at most --max-batch of them (a sequence reserves at most -c positions and at most --max-batch
/// run at once, so more memory is never used: a larger value is a slip, such as T for G).
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
        // Both bounds are shown rounded up, in the option's own syntax: typed back, either one is accepted.
        string least = ByteSize.FormatRoundedUp(perPosition * contextSize);
        string most = ByteSize.FormatRoundedUp(perPosition * fullBatch);
        if (kvMemory < perPosition * contextSize || kvMemory > ByteSize.Parse(most))
        {
            throw new UsageException(
                $"--kv-memory must be between {least} (one sequence of {contextSize} tokens, -c) and {most} (--max-batch {maxBatch} such sequences; " +
                $"more is never used), got '{args.String("kv-memory")}'");
        }

        return Math.Min(kvMemory / perPosition, fullBatch);
    }
}
