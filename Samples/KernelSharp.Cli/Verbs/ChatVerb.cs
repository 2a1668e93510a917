using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Cli.Verbs;

/// <summary><c>kernelsharp chat</c>: an interactive multi-turn conversation, history kept, replies streamed.</summary>
public sealed class ChatVerb : IVerb
{
    public bool StopsCleanlyOnCtrlC => true;

    public VerbSpec Spec { get; } = new(
        "chat",
        "Chat interactively: one user message per line, replies stream to stdout.",
        "-m DIR [options]",
        "Commands: /exit ends the session (so does end of input), /reset forgets the history.\n" +
        "The '> ' prompt and the stats line after each reply go to stderr, so stdout holds only replies.\n" +
        "Ctrl-C stops the current reply, prints the stats line and exits with 130.",
        [
            SharedOptions.Model,
            .. SamplingArguments.Options,
            SharedOptions.ContextSize,
            SharedOptions.Device,
            SharedOptions.Prefill,
            OptionSpec.Flag("think", "thinking mode (<think>)"),
            OptionSpec.Value("system", "TEXT", "a system prompt"),
        ]);

    public int Run(ParsedArguments args, CliContext context)
    {
        string modelDirectory = args.RequiredString("model");
        int maxNewTokens = SamplingArguments.MaxNewTokens(args);
        SamplingOptions sampling = SamplingArguments.Read(args);
        string device = SharedOptions.ReadDevice(args);
        PrefillMatmul prefill = SharedOptions.ReadPrefill(args);
        bool thinking = args.Flag("think");

        ModelFolder folder = ModelFolder.Open(modelDirectory);
        int contextSize = folder.ContextSize(args);
        BpeTokenizer tokenizer = folder.LoadTokenizer();
        using DeepSeekModel model = folder.LoadModel(device, contextSize, context, prefill);
        using InferenceSession session = model.CreateSession(contextSize);
        context.Error.WriteLine($"device: {model.DeviceDescription}");
        var request = new GenerationRequest(
            maxNewTokens, sampling, args.Flag("ignore-eos") ? [] : folder.StopTokenIds(tokenizer), args.All("stop"));

        var history = new List<ChatTurn>();
        if (args.String("system") is string system)
        {
            history.Add(ChatPrompt.System(system));
        }
        int systemTurns = history.Count;

        while (true)
        {
            context.Error.Write("> ");
            context.Error.Flush();
            string? line;
            try
            {
                line = InterruptibleInput.ReadLine(context.In, context.Cancellation);
            }
            catch (OperationCanceledException) when (context.Cancellation.IsCancellationRequested)
            {
                // Ctrl-C (or SIGTERM) at the prompt ends the session at once, not after the next Enter.
                context.Error.WriteLine();
                return ExitCodes.Interrupted;
            }
            if (line is null || line.Trim() == "/exit")
            {
                return ExitCodes.Success;
            }
            if (line.Trim() == "/reset")
            {
                history.RemoveRange(systemTurns, history.Count - systemTurns);
                context.Error.WriteLine("(history cleared)");
                continue;
            }
            if (line.Trim().Length == 0)
            {
                continue;
            }

            history.Add(ChatPrompt.User(line));
            int[] promptTokens = ChatPrompt.Encode(tokenizer, history, thinking);
            if (promptTokens.Length > contextSize)
            {
                history.RemoveAt(history.Count - 1);
                context.Error.WriteLine(
                    $"the conversation is {promptTokens.Length} tokens but the context (-c) holds {contextSize}; /reset or restart with a larger -c");
                continue;
            }

            // The whole conversation is re-encoded each turn: the template may render earlier turns
            // differently once a reply follows them, so reusing the cache token-for-token would be wrong.
            session.Reset();
            StreamingDecoder decoder = tokenizer.CreateStreamingDecoder();
            GenerationResult reply = TextGenerator.Generate(
                session, promptTokens, request, decoder.Push,
                GenerationOutput.StreamToStdout(context),
                context.Cancellation);
            context.Out.WriteLine();
            GenerationOutput.WriteStatsLine(context, reply);
            if (reply.FinishReason == FinishReason.Cancelled)
            {
                return ExitCodes.Interrupted;
            }
            history.Add(ChatPrompt.Assistant(reply.Text));
        }
    }
}
