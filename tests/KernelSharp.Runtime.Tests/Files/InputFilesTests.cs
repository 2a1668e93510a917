using KernelSharp.Runtime.Tests.Checkpoints;
using KernelSharp.Runtime.Tokenization;
using Xunit;

namespace KernelSharp.Runtime.Tests.Files;

/// <summary>
/// Every reader of a model's files refuses pipes and devices before opening them (an open of a FIFO blocks forever),
/// and every read of a stream is bounded (an endless input is an error, not gigabytes of memory).
/// </summary>
public sealed class InputFilesTests : IDisposable
{
    private static readonly TimeSpan NoHang = TimeSpan.FromSeconds(20);
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    public static TheoryData<string> Readers() => ["config.json", "tokenizer.json", ShardIndex.FileName, "model.safetensors"];

    [SkippableTheory]
    [MemberData(nameof(Readers))]
    public void A_named_pipe_in_place_of_a_model_file_is_refused_without_blocking(string name)
    {
        Skip.IfNot(UnixNodes.Available, "needs mkfifo");
        string fifo = UnixNodes.MakeFifo(temp.File(name));
        Task<Exception?> read = Task.Run<Exception?>(() => Record.Exception(() => Read(name, fifo)));
        Assert.True(read.Wait(NoHang), $"reading a FIFO as {name} blocked");
        var error = Assert.IsAssignableFrom<UserInputException>(read.Result);
        Assert.Contains("is a named pipe", error.Message);
        Assert.StartsWith(fifo, error.Message);
    }

    [SkippableTheory]
    [MemberData(nameof(Readers))]
    public void An_endless_device_in_place_of_a_model_file_is_refused(string name)
    {
        Skip.IfNot(File.Exists("/dev/zero"), "needs /dev/zero");
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var error = Assert.IsAssignableFrom<UserInputException>(Record.Exception(() => Read(name, "/dev/zero")));
        Assert.Contains("is a character device", error.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64L << 20, "the refusal allocated more than 64 MB");
    }

    [Fact]
    public void An_oversized_config_is_refused_with_its_size_and_the_limit()
    {
        string config = temp.File("config.json");
        using (var stream = File.Create(config))
        {
            stream.SetLength(InputFiles.ConfigLimit + 1); // sparse: no disk used
        }
        var error = Assert.Throws<ConfigException>(() => ModelConfig.Load(config));
        Assert.Contains("expected at most 16 MiB", error.Message);
    }

    [Fact]
    public void An_endless_stream_is_cut_at_its_limit_with_bounded_memory()
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var error = Assert.Throws<UserInputException>(() =>
            InputFiles.ReadToEnd(new EndlessReader(), "the prompt on stdin", 1 << 20, message => new UserInputException(message)));
        Assert.Contains("longer than 1,048,576 characters", error.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 32L << 20, "reading 1 M characters allocated more than 32 MB");

        var line = Assert.Throws<UserInputException>(() =>
            InputFiles.ReadLine(new EndlessReader(), "the JSONL on stdin", 1 << 16, message => new UserInputException(message)));
        Assert.Contains("a line longer than 65,536 characters", line.Message);
    }

    [Fact]
    public void Bounded_lines_keep_their_text_and_drop_the_line_ending()
    {
        var reader = new StringReader("one\r\ntwo\nthree");
        Func<string, Exception> fail = message => new UserInputException(message);
        Assert.Equal("one", InputFiles.ReadLine(reader, "x", 10, fail));
        Assert.Equal("two", InputFiles.ReadLine(reader, "x", 10, fail));
        Assert.Equal("three", InputFiles.ReadLine(reader, "x", 10, fail));
        Assert.Null(InputFiles.ReadLine(reader, "x", 10, fail));
    }

    private static void Read(string name, string path)
    {
        switch (name)
        {
            case "config.json":
                ModelConfig.Load(path);
                break;
            case "tokenizer.json":
                BpeTokenizer.Load(path, null);
                break;
            case "model.safetensors":
                SafeTensorsFile.Open(path).Dispose();
                break;
            default:
                ShardIndex.Load(path);
                break;
        }
    }

    /// <summary>A stream with no end, like <c>/dev/zero</c> or <c>yes</c> on stdin.</summary>
    private sealed class EndlessReader : TextReader
    {
        public override int Read() => 'a';

        public override int Read(char[] buffer, int index, int count)
        {
            buffer.AsSpan(index, count).Fill('a');
            return count;
        }
    }
}
