using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Model;

namespace KernelSharp.Cli.Verbs;

/// <summary>
/// <c>kernelsharp logits</c>: the logits of a token sequence, written as one F32 tensor <c>logits</c> [rows, vocab]
/// to a safetensors file. Used to compare against a reference implementation row by row.
/// </summary>
public sealed class LogitsVerb : IVerb
{
    public bool StopsCleanlyOnCtrlC => true;

    public VerbSpec Spec { get; } = new(
        "logits",
        "Write the logits of a token sequence to a safetensors file (tensor 'logits' [rows, vocab], F32).",
        "-m DIR --tokens 1,2,3 [--decode-from N] -o FILE [options]",
        "Without --decode-from: one prefill of all tokens, one row per position.\n" +
        "With --decode-from N: prefill tokens[0..N), then feed the rest one at a time through the KV cache;\n" +
        "rows are positions N-1 … last (each row predicts the token after it).",
        [
            SharedOptions.Model,
            OptionSpec.Value("tokens", "IDS", "comma-separated token ids"),
            OptionSpec.Value("decode-from", "N", "prefill the first N tokens, decode the rest one by one (1 … token count)"),
            OptionSpec.Value("out", "FILE", "the safetensors file to write (a new name; an existing file only with --force)", "o"),
            OptionSpec.Flag("force", "replace the -o file if it exists"),
            SharedOptions.Device,
            SharedOptions.Gpus,
            SharedOptions.Prefill,
            SharedOptions.KvCache,
        ]);

    public int Run(ParsedArguments args, CliContext context)
    {
        string modelDirectory = args.RequiredString("model");
        string outPath = args.RequiredString("out");
        bool force = args.Flag("force");
        DevicePlacement placement = DevicePlacement.Read(args);
        PrefillMatmul? prefillMatmul = SharedOptions.ReadPrefill(args);
        KvCacheFormat kvCache = SharedOptions.ReadKvCache(args);
        args.RequiredString("tokens");

        ModelFolder folder = ModelFolder.Open(modelDirectory);
        int vocab = folder.Config.VocabSize;
        int[] tokens = args.IntList("tokens", 0, vocab - 1);
        if (tokens.Length > folder.Config.MaxPositionEmbeddings)
        {
            throw new UsageException(
                $"--tokens has {tokens.Length} ids but the model's context holds {folder.Config.MaxPositionEmbeddings}");
        }
        int decodeFrom = args.Int("decode-from", tokens.Length, 1, tokens.Length);
        bool decodeMode = args.Has("decode-from");
        // Decided before the (long) load: the output must not resolve onto the model's files through any link.
        ProtectedInputs inputs = new ProtectedInputs().AddModelFolder(folder.Directory);
        try
        {
            SafeOutputFile.Check(outPath, "-o/--out", inputs, replaceExisting: force);
        }
        catch (OutputOverlapsInputException overlap)
        {
            throw new UsageException($"-o/--out {outPath} is inside the model folder; write the logits somewhere else (it resolves to {overlap.Resolved})");
        }

        using DeepSeekModel model = folder.LoadModel(placement, tokens.Length, context, prefillMatmul, kvCache);
        using InferenceSession session = model.CreateSession(tokens.Length);
        float[] logits; // [rows × vocab]
        if (!decodeMode)
        {
            // prefill: a row per position
            logits = session.Prefill(tokens);
        }
        else
        {
            // prefill the first N, keep its last row, then decode the rest one token at a time
            int rows = tokens.Length - decodeFrom + 1;
            logits = new float[(long)rows * vocab];
            float[] prefill = session.Prefill(tokens.AsSpan(0, decodeFrom));
            prefill.AsSpan(prefill.Length - vocab).CopyTo(logits);
            for (int i = decodeFrom; i < tokens.Length; i++)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                session.Decode(tokens[i]).CopyTo(logits.AsSpan((i - decodeFrom + 1) * vocab, vocab));
            }
        }

        int rowCount = logits.Length / vocab;
        LogitsFile.Write(outPath, logits, rowCount, vocab, inputs, force, context.Cancellation);
        // Written to a stream (-o /dev/stdout, a pipe): the status line must not land inside the safetensors bytes.
        TextWriter status = FileKinds.Of(outPath) is FileKind.Pipe or FileKind.CharacterDevice ? context.Error : context.Out;
        status.WriteLine($"wrote logits [{rowCount}, {vocab}] to {outPath} ({model.DeviceDescription})");
        return ExitCodes.Success;
    }
}
