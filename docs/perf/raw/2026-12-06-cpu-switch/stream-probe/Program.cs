// A bf16 weight stream read once, as a decode step reads its weights: 512 MB of 1024-value rows from a mapped file
// (the first 512 MB of the checkpoint given), one row-dot after another on 1 and 2 threads, against a plain read loop,
// with and without a software prefetch at several distances. The best of three passes per line, in GB/s of weights.
// Build and run from the repository root:
//   dotnet run -c Release --project docs/perf/raw/2026-12-06-cpu-switch/stream-probe -- MODEL_DIR/model.safetensors
using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

const int Cols = 1024;
const long Bytes = 512L << 20;
using var file = MemoryMappedFile.CreateFromFile(args[0], FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
using var view = file.CreateViewAccessor(0, Bytes, MemoryMappedFileAccess.Read);
float[] x = Enumerable.Range(0, Cols).Select(i => 1f / (i + 1)).ToArray();
long rowsTotal = Bytes / (2 * Cols);
float sink = 0;
unsafe
{
    byte* mapped = null;
    view.SafeMemoryMappedViewHandle.AcquirePointer(ref mapped);
    var runs = new (string Name, int Prefetch, bool Read)[]
    {
        ("read", 0, true), ("dot", 0, false), ("dot, prefetch 1 KB", 1024, false), ("dot, prefetch 2 KB", 2048, false),
        ("dot, prefetch 4 KB", 4096, false), ("dot, prefetch 8 KB", 8192, false),
    };
    foreach (int threads in new[] { 1, 2 })
        foreach (var run in runs)
        {
            double best = 0;
            for (int pass = 0; pass < 3; pass++)
            {
                var clock = Stopwatch.StartNew();
                var sums = new float[threads];
                var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
                {
                    long first = rowsTotal * t / threads, last = rowsTotal * (t + 1) / threads;
                    ushort* w = (ushort*)mapped;
                    float s = 0;
                    fixed (float* xp = x)
                    {
                        if (run.Read)
                            s = Read((byte*)(w + first * Cols), (last - first) * Cols * 2);
                        else
                            for (long r = first; r < last; r++)
                                s += Dot(w + r * Cols, xp, run.Prefetch);
                    }
                    sums[t] = s;
                })).ToArray();
                foreach (var worker in workers) worker.Start();
                foreach (var worker in workers) worker.Join();
                best = Math.Max(best, Bytes / clock.Elapsed.TotalSeconds / 1e9);
                sink += sums.Sum();
            }
            Console.WriteLine($"{threads} thread(s), {run.Name,-20} {best:F1} GB/s");
        }
    view.SafeMemoryMappedViewHandle.ReleasePointer();
}
Console.WriteLine($"(checksum {sink})");

static unsafe float Read(byte* p, long n)
{
    Vector512<float> a = default, b = default, c = default, d = default;
    for (long i = 0; i + 256 <= n; i += 256)
    {
        a += Vector512.Load((float*)(p + i));
        b += Vector512.Load((float*)(p + i + 64));
        c += Vector512.Load((float*)(p + i + 128));
        d += Vector512.Load((float*)(p + i + 192));
    }
    return Vector512.Sum(a + b + c + d);
}

// The loop of Bf16Dot.Compute (widen 32 bf16 values, two fused multiply-adds), with the prefetch of StreamAhead.Touch.
static unsafe float Dot(ushort* w, float* x, int prefetchBytes)
{
    Vector512<float> low = default, high = default;
    for (int i = 0; i < Cols; i += 32)
    {
        if (prefetchBytes > 0)
            Sse.Prefetch0((byte*)(w + i) + prefetchBytes);
        var (l, h) = Vector512.Widen(Vector512.Load(w + i));
        low = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(l, 16).AsSingle(), Vector512.Load(x + i), low);
        high = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(h, 16).AsSingle(), Vector512.Load(x + i + 16), high);
    }
    return Vector512.Sum(low + high);
}
