using System.Diagnostics;
using System.Text.Json.Nodes;

namespace KernelSharp.Cli.Tests;

/// <summary>
/// The command line never destroys what a user owns: outputs spelled through links onto the model, outputs that are
/// pipes or devices, endless inputs, interrupted writers (SIGTERM, SIGKILL) and Ctrl-C at chat's prompt.
/// </summary>
public sealed class DataSafetyTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [SkippableFact]
    public void Logits_output_spelled_through_a_link_onto_the_model_is_refused_and_the_weights_are_kept()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs symbolic links");
        string model = temp.CopyOf(Fixtures.TinyBf16, "model");
        string link = temp.Combine("link");
        Directory.CreateSymbolicLink(link, model);
        byte[] weights = File.ReadAllBytes(Path.Combine(model, "model.safetensors"));

        foreach ((string m, string o) in new[] { (link, Path.Combine(model, "model.safetensors")), (model, Path.Combine(link, "model.safetensors")), (link, Path.Combine(link, "config.json")) })
        {
            CliResult result = Cli.Run("logits", "-m", m, "--tokens", "1,2", "-o", o);
            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.Contains("is inside the model folder", Assert.Single(result.ErrorLines));
        }

        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(model, "model.safetensors")));
    }

    [SkippableFact]
    public async Task Logits_to_a_named_pipe_stream_through_it_and_the_pipe_stays()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs mkfifo");
        string fifo = temp.Combine("logits.fifo");
        Process.Start("mkfifo", [fifo]).WaitForExit();
        Task<byte[]> reader = Task.Run(() => File.ReadAllBytes(fifo));
        CliResult result = Cli.Run("logits", "-m", Fixtures.TinyBf16, "--tokens", "1,2,3", "-o", fifo);
        Assert.True(result.ExitCode == 0, result.ToString());
        byte[] streamed = await reader.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(8 + BitConverter.ToInt64(streamed, 0) + (3 * 512 * 4), streamed.Length);
        Assert.Equal(KernelSharp.Runtime.FileKind.Pipe, KernelSharp.Runtime.FileKinds.Of(fifo));
    }

    [SkippableFact]
    public async Task A_named_pipe_as_a_model_file_is_refused_at_once()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs mkfifo");
        string model = temp.CopyOf(Fixtures.TinyBf16, "model");
        File.Delete(Path.Combine(model, "tokenizer.json"));
        Process.Start("mkfifo", [Path.Combine(model, "tokenizer.json")]).WaitForExit();
        Task<CliResult> run = Task.Run(() => Cli.Run("tokenize", "-m", model, "--text", "hi"));
        CliResult result = await run.WaitAsync(TimeSpan.FromSeconds(30)); // TimeoutException: blocked on the FIFO
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("is a named pipe", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void An_endless_prompt_on_stdin_is_refused_with_bounded_memory()
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var stderr = new StringWriter();
        int exit = Program.Run(["generate", "-m", Fixtures.TinyBf16, "-n", "1"], new StringWriter(), stderr, new EndlessReader());
        Assert.Equal(1, exit);
        Assert.Contains("is it an endless stream?", stderr.ToString());
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 1L << 30, "an endless stdin allocated over 1 GB");
    }

    [Fact]
    public async Task Ctrl_c_at_the_chat_prompt_ends_the_session_without_waiting_for_enter()
    {
        using var interrupt = new CancellationTokenSource();
        var stderr = new StringWriter();
        using var neverTypes = new BlockingReader();
        Task<int> chat = Task.Run(() => Program.Run(["chat", "-m", Fixtures.TinyBf16, "-n", "2"], new StringWriter(), stderr, neverTypes, interrupt.Token));
        SpinWait.SpinUntil(() => neverTypes.Waiting, TimeSpan.FromSeconds(60));
        Assert.True(neverTypes.Waiting, "chat never reached its prompt");
        interrupt.Cancel();
        // A TimeoutException here means chat kept waiting for a line after Ctrl-C.
        Assert.Equal(130, await chat.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [SkippableFact]
    public void Sigterm_stops_create_model_cleanly_and_sigkill_leftovers_are_removed_by_the_next_run()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs POSIX signals");
        string config = temp.Combine("config.json");
        JsonNode node = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.TinyBf16, "config.json")))!;
        node["hidden_size"] = 1024;
        node["num_hidden_layers"] = 12;
        node["n_routed_experts"] = 64;
        node["moe_intermediate_size"] = 512;
        File.WriteAllText(config, node.ToJsonString());
        string target = temp.Combine("out");

        using (Process terminated = StartCli("create-model", "--config", config, "-o", target))
        {
            WaitForPartial(target);
            terminated.Kill(entireProcessTree: false); // SIGKILL: the partial folder stays behind
            terminated.WaitForExit();
        }
        Assert.NotEmpty(Partials());

        using (Process stopped = StartCli("create-model", "--config", config, "-o", target))
        {
            WaitForPartial(target, ignoring: Partials());
            Process.Start("kill", ["-TERM", stopped.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]).WaitForExit();
            Assert.True(stopped.WaitForExit(60_000), "create-model ignored SIGTERM");
            Assert.Equal(130, stopped.ExitCode);
            string stderr = stopped.StandardError.ReadToEnd();
            Assert.Contains("removed", stderr); // the SIGKILLed run's partial, reported by this run
        }

        Assert.Empty(Partials());
        Assert.False(Directory.Exists(target));

        string[] Partials() => Directory.GetDirectories(temp.Path, ".out.partial-*");
    }

    private void WaitForPartial(string target, string[]? ignoring = null)
    {
        string name = "." + Path.GetFileName(target) + ".partial-*";
        bool appeared = SpinWait.SpinUntil(
            () => Directory.GetDirectories(temp.Path, name).Except(ignoring ?? []).Any(folder => Directory.EnumerateFiles(folder).Any()),
            TimeSpan.FromSeconds(60));
        Assert.True(appeared, "create-model never started writing");
    }

    private static Process StartCli(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "kernelsharp.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(dll);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        return Process.Start(start)!;
    }

    /// <summary>Standard input that never ends (<c>&lt; /dev/zero</c>).</summary>
    private sealed class EndlessReader : TextReader
    {
        public override int Read() => 'x';

        public override int Read(char[] buffer, int index, int count)
        {
            buffer.AsSpan(index, count).Fill('x');
            return count;
        }
    }

    /// <summary>A terminal where the user types nothing: reads block until disposed.</summary>
    [Fact]
    public void Logits_onto_an_existing_file_is_refused_unless_forced()
    {
        string output = temp.Combine("notes.txt");
        File.WriteAllText(output, "the user's notes");

        CliResult refused = Cli.Run("logits", "-m", Fixtures.TinyBf16, "--tokens", "1,2", "-o", output, "--device", "cpu");
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains("--force", Assert.Single(refused.ErrorLines));
        Assert.Equal("the user's notes", File.ReadAllText(output));

        CliResult forced = Cli.Run("logits", "-m", Fixtures.TinyBf16, "--tokens", "1,2", "-o", output, "--device", "cpu", "--force");
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.Equal(8 + BitConverter.ToInt64(File.ReadAllBytes(output), 0) + (2 * 512 * 4), new FileInfo(output).Length);
    }

    [SkippableFact]
    public async Task Ctrl_c_ends_generate_waiting_on_a_prompt_fifo_or_a_silent_stdin()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs mkfifo");
        string fifo = temp.Combine("prompt.fifo");
        Process.Start("mkfifo", [fifo]).WaitForExit();
        using var silent = new BlockingReader();
        foreach ((string[] args, TextReader input) in new[] { (new[] { "-f", fifo }, (TextReader)new StringReader(string.Empty)), (Array.Empty<string>(), silent) })
        {
            using var interrupt = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            var stderr = new StringWriter();
            Task<int> run = Task.Run(() => Program.Run(["generate", "-m", Fixtures.TinyBf16, "-n", "2", "--device", "cpu", .. args], new StringWriter(), stderr, input, interrupt.Token));
            Assert.Equal(130, await run.WaitAsync(TimeSpan.FromSeconds(60))); // TimeoutException: Ctrl-C did not end the wait
        }

        // A writer at last: the abandoned read of the FIFO ends instead of waiting for the process's end. Opened sharing
        // reads and writes: File.OpenWrite asks .NET for an exclusive lock, which fails ("being used by another process")
        // when the abandoned reader's open completes first and takes its shared lock, as a fresh-clone CI run saw.
        using (new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
        }
    }

    [Fact]
    public void Serve_refuses_a_host_it_would_not_bind_as_given()
    {
        foreach (string host in new[] { "foo.invalid", "999.1.1.1", "127.0.0.1:9000" })
        {
            CliResult result = Cli.Run("serve", "-m", Fixtures.TinyBf16, "--host", host, "--device", "cpu");
            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.Contains("--host", Assert.Single(result.ErrorLines));
        }
    }

    private sealed class BlockingReader : TextReader
    {
        private readonly ManualResetEventSlim released = new();

        public bool Waiting { get; private set; }

        public override int Read()
        {
            Waiting = true;
            released.Wait();
            return -1;
        }

        protected override void Dispose(bool disposing)
        {
            released.Set();
            base.Dispose(disposing);
        }
    }
}
