using System.Net.Sockets;
using System.Runtime.InteropServices;
using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Cli.Serving;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Serving;

namespace KernelSharp.Cli.Verbs;

/// <summary><c>kernelsharp serve</c>: an OpenAI-compatible HTTP server over the continuous-batching engine.</summary>
public sealed class ServeVerb : IVerb
{
    /// <summary>The cache format of serve's sessions (serve has no --kv-cache): the --kv-memory budget is counted in it.</summary>
    private const KvCacheFormat KvCache = KvCacheFormat.Fp32;

    public bool StopsCleanlyOnCtrlC => true;

    public VerbSpec Spec { get; } = new(
        "serve",
        "Serve the model over an OpenAI-compatible HTTP API, many requests at once.",
        "-m DIR [options]",
        "Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health, GET /metrics.\n" +
        "Requests share the model with continuous batching; the KV budget (--kv-memory) bounds the tokens held at once.\n" +
        "Ctrl-C or SIGTERM stops taking requests, lets running ones finish, and exits with 130.",
        [
            SharedOptions.Model,
            OptionSpec.Value("host", "ADDR", "address to listen on (default: 127.0.0.1)"),
            OptionSpec.Value("port", "N", "port to listen on (default: 8080)"),
            OptionSpec.Value("max-batch", "N", "most sequences run together (default: 8)"),
            OptionSpec.Value("max-queue", "N", "most requests waiting; more get 429 (default: 64)"),
            OptionSpec.Value("kv-memory", "SIZE", "KV cache memory for all sequences, e.g. 2G: at least one sequence of -c tokens; more than --max-batch of them is never used (default: max-batch full contexts)"),
            OptionSpec.Value("api-key", "KEY", "require 'Authorization: Bearer KEY' on /v1 routes"),
            SharedOptions.ContextSize,
            SharedOptions.Device,
            SharedOptions.Gpus,
        ]);

    public int Run(ParsedArguments args, CliContext context)
    {
        string modelDirectory = args.RequiredString("model");
        string host = args.String("host") ?? "127.0.0.1";
        if (host != "localhost" && !System.Net.IPAddress.TryParse(host, out _))
        {
            // Kestrel listens on every interface for a name it cannot bind: a typo must not expose the API to the network
            throw new UsageException($"--host must be an IP address (127.0.0.1, 0.0.0.0, ::1, ...) or localhost, got '{host}'");
        }
        int port = args.Int("port", 8080, 0, 65535);
        int maxBatch = args.Int("max-batch", 8, 1, 1024);
        int maxQueue = args.Int("max-queue", 64, 1, 1_000_000);
        string? apiKey = args.String("api-key");
        if (apiKey is not null && !OpenAiServer.IsSendableApiKey(apiKey))
        {
            throw new UsageException("--api-key must be a non-empty key without leading or trailing spaces (a client could never send it); leave it out to serve without a key");
        }
        DevicePlacement placement = DevicePlacement.Read(args);
        ModelFolder folder = ModelFolder.Open(modelDirectory);
        int contextSize = folder.ContextSize(args, minimum: 2);
        // Before listening: a wrong value must not first open a port and answer 503 while the weights load.
        long kvBudget = KvMemoryBudget.Positions(args, folder.Config, KvCache, maxBatch, contextSize);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.Cancellation);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true; // drain instead of dying
            stop.Cancel();
        });
        return ServeAsync(folder, host, port, apiKey, placement, contextSize, maxBatch, maxQueue, kvBudget, context, stop.Token).GetAwaiter().GetResult();
    }

    private static async Task<int> ServeAsync(
        ModelFolder folder, string host, int port, string? apiKey, DevicePlacement placement, int contextSize, int maxBatch, int maxQueue, long budget,
        CliContext context, CancellationToken stop)
    {
        OpenAiServer server;
        try
        {
            server = await OpenAiServer.StartAsync(host, port, folder.Name, apiKey, context.Error.WriteLine);
        }
        catch (Exception error) when (error is IOException or SocketException or FormatException or InvalidOperationException)
        {
            throw new UserInputException($"cannot listen on {host}:{port}: {error.GetBaseException().Message}");
        }

        await using (server)
        {
            context.Error.WriteLine($"listening on {server.Address} (loading {folder.Name}; /v1 answers 503 until it is ready)");
            var tokenizer = folder.LoadTokenizer();
            using DeepSeekModel model = folder.LoadModel(placement, contextSize, context, kvCache: KvCache);
            using var engine = new ServingEngine(model, new ServingOptions(maxBatch, maxQueue, budget, contextSize), tokenizer);
            server.Ready(new ServerState(engine, tokenizer, folder.StopTokenIds(tokenizer), contextSize));
            context.Error.WriteLine($"device: {model.DeviceDescription}");
            context.Error.WriteLine($"ready: model '{server.ModelName}', context {contextSize}, batch {maxBatch}, KV budget {budget} tokens");

            try
            {
                await Task.Delay(Timeout.Infinite, stop);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C / SIGTERM
            }

            context.Error.WriteLine("stopping: finishing running requests");
            await engine.DrainAsync();
        }

        return ExitCodes.Interrupted;
    }
}
