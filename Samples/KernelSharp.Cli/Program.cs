using System.Runtime.InteropServices;
using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Verbs;

namespace KernelSharp.Cli;

/// <summary>The <c>kernelsharp</c> command: a table of contents of its verbs. Each verb is one type in Verbs/.</summary>
public static class Program
{
    public static IReadOnlyList<IVerb> Verbs { get; } =
    [
        new GenerateVerb(),     // text from a prompt, streamed to stdout, stats line on stderr
        new ChatVerb(),         // interactive multi-turn chat with the DeepSeek-V3.2 template
        new ServeVerb(),        // OpenAI-compatible HTTP server, continuous batching
        new LogitsVerb(),       // logits of a token sequence (prefill or KV-cached decode) → safetensors
        new TokenizeVerb(),     // text → token ids (one string or a JSONL file), ids → text
        new BenchVerb(),        // llama-bench style prompt-processing / generation throughput
        new InspectVerb(),      // config, parameter counts, dtypes, memory estimate, tensors
        new DevicesVerb(),      // the accelerators found
        new CreateModelVerb(),  // a random checkpoint from a config or preset
        new KernelsVerb(),      // every kernel, its generated variants and the autotuner's choices
    ];

    public static int Main(string[] args)
    {
        // Generated text is UTF-8 (CJK, emoji); some consoles default to a legacy code page.
        Console.OutputEncoding = System.Text.Encoding.UTF8;
        using var interrupt = new CancellationTokenSource();
        bool stopsCleanly = args.Length > 0 && Verbs.FirstOrDefault(v => v.Spec.Name == args[0]) is { StopsCleanlyOnCtrlC: true };
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl-C asks a verb that can stop cleanly to do so; a second one (or any for the other verbs) ends the process.
            e.Cancel = stopsCleanly && !interrupt.IsCancellationRequested;
            interrupt.Cancel();
        };
        // SIGTERM (docker stop, timeout, kill) stops as Ctrl-C does, so partial outputs are cleaned up, not left behind.
        using PosixSignalRegistration terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = stopsCleanly && !interrupt.IsCancellationRequested;
            interrupt.Cancel();
        });
        return Run(args, StandardOutput.Open(), Console.Error, Console.In, interrupt.Token, errorIsTerminal: !Console.IsErrorRedirected, inputIsTerminal: !Console.IsInputRedirected);
    }

    /// <summary>Runs one command line in-process (tests call this instead of spawning the tool). Returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin)
        => Run(args, stdout, stderr, stdin, CancellationToken.None);

    public static int Run(
        string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin, CancellationToken cancellation, bool errorIsTerminal = false, bool inputIsTerminal = false)
        => CommandRunner.Run(Verbs, args, new CliContext(stdout, stderr, stdin, cancellation, errorIsTerminal, inputIsTerminal));
}
