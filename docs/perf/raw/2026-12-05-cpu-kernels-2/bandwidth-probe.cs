// The read-bandwidth probe of run.sh (a console project's Program.cs; `dotnet PROBE.dll bw`): TensorPrimitives.Sum over
// a 1 GiB float array, on one thread and on every core, three times. The same loop shape as a GEMV streaming its weights.
using System.Diagnostics;
using System.Numerics.Tensors;

var big = new float[256L << 20]; // 1 GiB
for (long i = 0; i < big.Length; i += 1024) big[i] = 1; // touch every page before timing
for (int r = 0; r < 3; r++)
    foreach (int threads in new[] { 1, Environment.ProcessorCount })
    {
        var clock = Stopwatch.StartNew();
        float total = 0;
        object gate = new();
        Parallel.For(0, threads, t =>
        {
            long a = big.Length * (long)t / threads, b = big.Length * (long)(t + 1) / threads;
            float sum = 0;
            for (long i = a; i < b; i += 1 << 24)
                sum += TensorPrimitives.Sum(big.AsSpan((int)i, (int)Math.Min(1 << 24, b - i)));
            lock (gate) total += sum;
        });
        Console.WriteLine($"read bandwidth {threads} threads: {big.Length * 4.0 / clock.Elapsed.TotalSeconds / 1e9:F1} GB/s ({total})");
    }
