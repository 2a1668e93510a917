using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Generation;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Cli.Verbs;

/// <summary><c>kernelsharp generate</c>: continue a prompt, streaming the text to stdout and the stats line to stderr.</summary>
public sealed class GenerateVerb : IVerb
{
    public bool StopsCleanlyOnCtrlC => true;

    public VerbSpec Spec { get; } = new(
        "generate",
        "Generate text from a prompt; text streams to stdout, a stats line goes to stderr.",
        "-m DIR [-p TEXT | -f FILE | < stdin] [options] [-- TEXT]",
        "The prompt comes from -p, -f, the argument after -- or standard input. With --chat it is sent as a\n" +
        "user message in the DeepSeek-V3.2 chat format. Ctrl-C stops generation, prints the stats line and\n" +
        "exits with 130.",
        [
            SharedOptions.Model,
            OptionSpec.Value("prompt", "TEXT", "the prompt", "p"),
            OptionSpec.Value("file", "FILE", "read the prompt from FILE", "f"),
            .. SamplingArguments.Options,
            SharedOptions.ContextSize,
            SharedOptions.Device,
            SharedOptions.Gpus,
            SharedOptions.Threads,
            SharedOptions.Prefill,
            SharedOptions.KvCache,
            OptionSpec.Flag("chat", "wrap the prompt in the DeepSeek-V3.2 chat format"),
            OptionSpec.Flag("think", "with --chat: thinking mode (<think>)"),
            OptionSpec.Value("system", "TEXT", "with --chat: a system prompt"),
            SharedOptions.ShowPrompt,
            OptionSpec.Flag("json", "print one JSON object on stdout (text, finish reason, load time, time to first token, speeds) instead of streaming"),
        ],
        new OperandSpec("TEXT", "the prompt, as -p gives it: after --, text that starts with '-' is not read as an option"));

    public int Run(ParsedArguments args, CliContext context)
    {
        // Arguments are checked before any file is touched (those bounded by the model, like -c, right after
        // config.json), so a typo never costs a model load.
        string modelDirectory = args.RequiredString("model");
        args.AtMostOneOfOrOperand("prompt", "file");
        int? maxNewTokensOption = SamplingArguments.MaxNewTokens(args);
        SamplingOptions sampling = SamplingArguments.Read(args);
        IReadOnlyList<string> stopSequences = SamplingArguments.StopSequences(args);
        DevicePlacement placement = DevicePlacement.Read(args);
        PrefillMatmul? prefill = SharedOptions.ReadPrefill(args);
        KvCacheFormat kvCache = SharedOptions.ReadKvCache(args);
        SharedOptions.ApplyThreads(args);
        bool chat = args.Flag("chat");
        if (!chat && (args.Flag("think") || args.Has("system")))
        {
            throw new UsageException("--think and --system need --chat");
        }

        ModelFolder folder = ModelFolder.Open(modelDirectory);
        int contextSize = folder.ContextSize(args);
        BpeTokenizer tokenizer = folder.LoadTokenizer();
        string promptText = ReadPrompt(args, context);
        string renderedPrompt = chat ? ChatTemplate.DeepSeekV32.Format(BuildTurns(args, promptText), args.Flag("think")) : promptText;
        int[] promptTokens = chat
            ? tokenizer.Encode(renderedPrompt, addSpecialTokens: false) // the template writes BOS itself
            : tokenizer.Encode(promptText, addSpecialTokens: true);
        if (args.Flag("show-prompt"))
        {
            context.Error.WriteLine(renderedPrompt);
        }
        PromptChecks.EnsureFits(promptTokens.Length, contextSize, folder.Config.MaxPositionEmbeddings);

        using DeepSeekModel model = ModelLoadTimes.LoadTimed(folder, placement, contextSize, context, prefill, kvCache, out TimeSpan loadTime);
        using InferenceSession session = model.CreateSession(contextSize);
        ModelLoadTimes loadTimes = ModelLoadTimes.WarmUpAndTime(session, loadTime);
        context.Error.WriteLine($"device: {model.DeviceDescription}");
        bool json = args.Flag("json");
        var request = new GenerationRequest(
            // -n -1: until end of text, which the context bounds (generation stops with "context full").
            maxNewTokensOption ?? contextSize,
            sampling,
            args.Flag("ignore-eos") ? [] : folder.StopTokenIds(tokenizer),
            stopSequences);
        StreamingDecoder decoder = tokenizer.CreateStreamingDecoder();
        GenerationResult result = TextGenerator.Generate(
            session, promptTokens, request, decoder.Push,
            json ? null : GenerationOutput.StreamToStdout(context),
            context.Cancellation);
        if (json)
        {
            GenerationOutput.WriteJson(context, result, loadTimes);
        }
        else
        {
            context.Out.WriteLine();
            GenerationOutput.WriteStatsLine(context, result, loadTimes);
        }
        return result.FinishReason == FinishReason.Cancelled ? ExitCodes.Interrupted : ExitCodes.Success;
    }

    private static List<ChatTurn> BuildTurns(ParsedArguments args, string prompt)
    {
        var turns = new List<ChatTurn>();
        if (args.String("system") is string system)
        {
            turns.Add(ChatPrompt.System(system));
        }
        turns.Add(ChatPrompt.User(prompt));
        return turns;
    }

    private static string ReadPrompt(ParsedArguments args, CliContext context)
    {
        string text;
        if ((args.String("prompt") ?? args.Operand) is string prompt)
        {
            text = prompt;
        }
        else if (args.String("file") is string file)
        {
            text = Interruptible.Wait(() => BoundedText.ReadFile(file, "prompt file", InputFiles.PromptLimit), context.Cancellation); // a FIFO blocks until written
        }
        else
        {
            if (context.InputIsTerminal)
            {
                // Nothing was piped in: without this line the tool looks hung while ReadToEnd waits for Ctrl-D.
                context.Error.WriteLine("reading the prompt from stdin (end it with Ctrl-D, or Ctrl-Z then Enter on Windows; or give -p TEXT / -f FILE)");
                context.Error.Flush();
            }
            text = Interruptible.Wait(() => InputFiles.ReadToEnd(context.In, "the prompt on stdin", InputFiles.PromptLimit, message => new UserInputException(message)), context.Cancellation);
        }
        if (text.Length == 0)
        {
            throw new UsageException("the prompt is empty; give -p TEXT, -f FILE, -- TEXT or text on stdin");
        }
        return text;
    }
}
