using System.Diagnostics;
using System.Text;
using KernelSharp.Runtime.Tokenization;
using Xunit;
using Xunit.Abstractions;

namespace KernelSharp.Runtime.Tests.Tokenization;

/// <summary>
/// Load and encode times of the real 128K tokenizer, with limits a CLI user would notice if broken. The limits are checked
/// on the process's CPU time (the class runs alone, see <see cref="TokenizerTimingCollection"/>) because wall time on a
/// shared, overloaded build machine says little; both are printed.
/// </summary>
[Collection(TokenizerTimingCollection.Name)]
public sealed class TokenizerPerformanceTests(ITestOutputHelper output)
{
    [Fact]
    public void LoadingTheRealTokenizerTakesUnderOneAndAHalfSeconds()
    {
        BpeTokenizer.Load(TokenizerFixtures.DeepSeekTokenizerJson); // the first load also compiles the code (JIT)

        var timer = CpuTimer.Start();
        BpeTokenizer tokenizer = BpeTokenizer.Load(TokenizerFixtures.DeepSeekTokenizerJson);
        (TimeSpan wall, TimeSpan cpu) = timer.Stop();

        output.WriteLine($"load: {wall.TotalMilliseconds:F0} ms wall, {cpu.TotalMilliseconds:F0} ms CPU, vocab {tokenizer.VocabSize}");
        Assert.True(cpu.TotalSeconds < 1.5, $"loading took {cpu.TotalSeconds:F2} s of CPU");
    }

    [Fact]
    public void EncodingTheThreeHundredGoldenStringsTakesUnderOneSecond()
    {
        BpeTokenizer tokenizer = BpeTokenizer.Load(TokenizerFixtures.DeepSeekTokenizerJson); // a fresh word cache

        var timer = CpuTimer.Start();
        foreach (GoldenCase golden in TokenizerFixtures.DeepSeekGoldenCases)
        {
            tokenizer.Encode(golden.Text);
        }

        (TimeSpan wall, TimeSpan cpu) = timer.Stop();

        output.WriteLine($"300 golden strings: {wall.TotalMilliseconds:F1} ms wall, {cpu.TotalMilliseconds:F1} ms CPU");
        Assert.True(cpu.TotalSeconds < 1, $"encoding took {cpu.TotalSeconds:F2} s of CPU");
    }

    [Fact]
    public void EncodingRunsAtMoreThanOneMegabytePerSecond()
    {
        BpeTokenizer tokenizer = TokenizerFixtures.DeepSeek;
        string text = MixedText(seed: 7, targetUtf8Bytes: 2_000_000);
        int utf8Bytes = Encoding.UTF8.GetByteCount(text);
        tokenizer.Encode(text); // a first pass lets the JIT finish optimizing the hot paths

        var timer = CpuTimer.Start();
        int[] ids = tokenizer.Encode(text);
        (TimeSpan wall, TimeSpan cpu) = timer.Stop();

        double megabytesPerSecond = utf8Bytes / 1e6 / cpu.TotalSeconds;
        output.WriteLine($"{utf8Bytes} bytes → {ids.Length} tokens in {wall.TotalMilliseconds:F0} ms wall, {cpu.TotalMilliseconds:F0} ms CPU: {megabytesPerSecond:F2} MB/s");
        Assert.True(megabytesPerSecond > 1, $"encode ran at {megabytesPerSecond:F2} MB/s");
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    // Words drawn from the golden texts (code, CJK, emoji, RTL...) joined by varied whitespace: a realistic mix with repetition.
    private static string MixedText(int seed, int targetUtf8Bytes)
    {
        var random = new Random(seed);
        string[] words = TokenizerFixtures.DeepSeekGoldenCases
            .SelectMany(golden => golden.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Distinct()
            .ToArray();
        string[] separators = [" ", " ", " ", "  ", "\n", ", ", "\t", "\n\n"];
        var builder = new StringBuilder();
        while (builder.Length < targetUtf8Bytes / 2)
        {
            builder.Append(words[random.Next(words.Length)]).Append(separators[random.Next(separators.Length)]);
        }

        return builder.ToString();
    }
}

/// <summary>Timing tests run alone so the process's CPU time is theirs.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TokenizerTimingCollection
{
    public const string Name = "Tokenizer timing";
}

/// <summary>Wall time and this process's CPU time over an interval.</summary>
internal readonly struct CpuTimer
{
    private readonly Stopwatch wall;
    private readonly TimeSpan cpuAtStart;

    private CpuTimer(Stopwatch wall, TimeSpan cpuAtStart)
    {
        this.wall = wall;
        this.cpuAtStart = cpuAtStart;
    }

    public static CpuTimer Start() => new(Stopwatch.StartNew(), Process.GetCurrentProcess().TotalProcessorTime);

    public (TimeSpan Wall, TimeSpan Cpu) Stop() => (wall.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart);
}
