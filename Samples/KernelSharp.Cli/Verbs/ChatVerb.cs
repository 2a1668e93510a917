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
            SharedOptions.Gpus,
            SharedOptions.Threads,
            SharedOptions.Prefill,
            SharedOptions.KvCache,
            OptionSpec.Flag("think", "thinking mode (<think>)"),
            OptionSpec.Value("system", "TEXT", "a system prompt"),
            SharedOptions.ShowPrompt,
        ]);

    public int Run(ParsedArguments args, CliContext context)
    {
        string modelDirectory = args.RequiredString("model");
        int? maxNewTokensOption = SamplingArguments.MaxNewTokens(args);
        SamplingOptions sampling = SamplingArguments.Read(args);
        IReadOnlyList<string> stopSequences = SamplingArguments.StopSequences(args);
        DevicePlacement placement = DevicePlacement.Read(args);
        PrefillMatmul? prefill = SharedOptions.ReadPrefill(args);
        KvCacheFormat kvCache = SharedOptions.ReadKvCache(args);
        SharedOptions.ApplyThreads(args);
        bool thinking = args.Flag("think");

        ModelFolder folder = ModelFolder.Open(modelDirectory);
        int contextSize = folder.ContextSize(args);
        BpeTokenizer tokenizer = folder.LoadTokenizer();
        using DeepSeekModel model = ModelLoadTimes.LoadTimed(folder, placement, contextSize, context, prefill, kvCache, out TimeSpan loadTime);
        using InferenceSession session = model.CreateSession(contextSize);
        ModelLoadTimes loadTimes = ModelLoadTimes.WarmUpAndTime(session, loadTime);
        context.Error.WriteLine($"device: {model.DeviceDescription}");
        context.Error.WriteLine(loadTimes.ToLine());
        var request = new GenerationRequest(
            maxNewTokensOption ?? contextSize, sampling, args.Flag("ignore-eos") ? [] : folder.StopTokenIds(tokenizer), stopSequences);

        var conversation = new ChatConversation(tokenizer, session, thinking, args.String("system"));
        bool showPrompt = args.Flag("show-prompt");

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
                conversation.Reset();
                context.Error.WriteLine("(history cleared)");
                continue;
            }
            if (line.Trim().Length == 0)
            {
                continue;
            }

            int promptLength = conversation.EncodeWith(line).Length;
            if (promptLength > contextSize)
            {
                context.Error.WriteLine(
                    $"the conversation is {promptLength} tokens but the context (-c) holds {contextSize}; /reset or restart with a larger -c");
                continue;
            }
            if (showPrompt)
            {
                context.Error.WriteLine(conversation.RenderWith(line));
            }

            GenerationResult reply = conversation.Reply(line, request, GenerationOutput.StreamToStdout(context), context.Cancellation);
            context.Out.WriteLine();
            GenerationOutput.WriteStatsLine(context, reply, load: null, reusedTokens: conversation.LastReusedTokens);
            if (reply.FinishReason == FinishReason.Cancelled)
            {
                return ExitCodes.Interrupted;
            }
        }
    }
}
