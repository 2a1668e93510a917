using System.Diagnostics;
using System.Text;
using KernelSharp.Cli.Hosting;

namespace KernelSharp.Cli.Tests;

/// <summary>
/// <c>kernelsharp generate ... | head -c 100</c>: once the reader of stdout is gone, generation stops at the next write and
/// the tool exits 141 (128 + SIGPIPE, as shells report it) without a message or a stack trace.
/// </summary>
public sealed class ClosedOutputTests
{
    [Fact]
    public void Generation_stops_at_the_first_write_to_a_closed_pipe_and_exits_141_silently()
    {
        var pipe = new ClosedPipe();
        var stdout = new StreamWriter(new PipeOutputStream(pipe), new UTF8Encoding(false)) { AutoFlush = true };
        var stderr = new StringWriter();
        int exit = Program.Run(
            ["generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "200", "--temp", "0", "--ignore-eos", "--device", "cpu"],
            stdout, stderr, new StringReader(string.Empty));

        Assert.True(exit == ExitCodes.OutputClosed, $"exit {exit}\n{stderr}");
        // One failed write of the first piece, and at most one retry of it by the final flush: not one per token.
        Assert.InRange(pipe.Writes, 1, 2);
        Assert.DoesNotContain("error", stderr.ToString());
        Assert.DoesNotContain("generated:", stderr.ToString()); // stopped before the stats line, as a SIGPIPE'd tool would
    }

    [Fact]
    public void Verbose_says_why_it_stopped_in_one_line()
    {
        var stderr = new StringWriter();
        int exit = Program.Run(
            ["tokenize", "-m", Fixtures.TinyBf16, "--text", "Hello", "--verbose"],
            new StreamWriter(new PipeOutputStream(new ClosedPipe())) { AutoFlush = true }, stderr, new StringReader(string.Empty));
        Assert.Equal(ExitCodes.OutputClosed, exit);
        Assert.Equal("stopped: standard output was closed (the program reading it has ended)", stderr.ToString().Trim());
    }

    [SkippableFact]
    public void A_real_process_whose_stdout_reader_closes_the_pipe_stops_generating_and_exits_141()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "needs POSIX pipes");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])[Path.Combine(AppContext.BaseDirectory, "kernelsharp.dll"),
            "generate", "-m", Fixtures.TinyBf16, "-p", "Hello", "-n", "-1", "--ignore-eos", "--temp", "0", "--device", "cpu"])
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        var first = new char[16];
        int read = process.StandardOutput.Read(first, 0, first.Length); // as head -c 16 does: some text, then close
        Assert.True(read > 0, "the tool wrote nothing");
        process.StandardOutput.Close();

        // -n -1 runs until the 4096-token context is full: far longer than this, unless the closed pipe stops it.
        bool exited = process.WaitForExit(TimeSpan.FromSeconds(30));
        if (!exited)
        {
            process.Kill();
        }
        Assert.True(exited, "generation went on after the reader closed stdout");
        Assert.Equal(ExitCodes.OutputClosed, process.ExitCode);
        string errors = stderr.Result;
        Assert.DoesNotContain(" at ", errors); // no stack trace
        Assert.DoesNotContain("error", errors);
    }

    /// <summary>A pipe whose reader has gone: every write fails as the OS reports EPIPE.</summary>
    private sealed class ClosedPipe : Stream
    {
        public int Writes { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes++;
            throw new IOException("Broken pipe", 32);
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
