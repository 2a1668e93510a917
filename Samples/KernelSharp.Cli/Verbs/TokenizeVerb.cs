using System.Text;
using System.Text.Json;
using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime;
using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Cli.Verbs;

/// <summary><c>kernelsharp tokenize</c>: text → ids (one string, or a JSONL file line by line), ids → text.</summary>
public sealed class TokenizeVerb : IVerb
{
    public VerbSpec Spec { get; } = new(
        "tokenize",
        "Turn text into token ids (or ids back into text) with a model's tokenizer.",
        "(-m DIR | --tokenizer FILE) (--text TEXT | --jsonl FILE | --ids 1,2,3 | -- TEXT) [options]",
        "--text prints the ids as a JSON array. --jsonl reads lines {\"text\": ...} ('-' = stdin) and writes one\n" +
        "line {\"ids\": [...]} per input line, in order (a blank line gives {\"ids\": []}). No special tokens are\n" +
        "added unless --add-special is given.",
        [
            SharedOptions.Model,
            OptionSpec.Value("tokenizer", "FILE", "a tokenizer.json (instead of -m)"),
            OptionSpec.Value("text", "TEXT", "the text to tokenize"),
            OptionSpec.Value("jsonl", "FILE", "tokenize every line {\"text\": ...} of FILE ('-' = stdin)"),
            OptionSpec.Value("ids", "IDS", "comma-separated ids to decode back into text"),
            OptionSpec.Flag("add-special", "add the tokenizer's special tokens (BOS)"),
        ],
        new OperandSpec("TEXT", "the text to tokenize, as --text gives it: after --, text that starts with '-' is not read as an option"));

    public int Run(ParsedArguments args, CliContext context)
    {
        args.AtMostOneOf("model", "tokenizer");
        args.AtMostOneOfOrOperand("text", "jsonl", "ids");
        if (!args.Has("model") && !args.Has("tokenizer"))
        {
            throw new UsageException("give -m DIR or --tokenizer FILE");
        }
        if (!args.Has("text") && !args.Has("jsonl") && !args.Has("ids") && args.Operand is null)
        {
            throw new UsageException("give --text TEXT, --jsonl FILE, --ids 1,2,3 or -- TEXT");
        }
        bool addSpecial = args.Flag("add-special");

        BpeTokenizer tokenizer = LoadTokenizer(args);
        if (args.Has("ids"))
        {
            int[] ids = args.IntList("ids", 0, tokenizer.VocabSize - 1);
            context.Out.WriteLine(tokenizer.Decode(ids));
        }
        else if ((args.String("text") ?? args.Operand) is string text)
        {
            context.Out.WriteLine(IdsJson(tokenizer.Encode(text, addSpecial)));
        }
        else
        {
            TokenizeJsonLines(tokenizer, args.RequiredString("jsonl"), addSpecial, context);
        }
        return ExitCodes.Success;
    }

    private static BpeTokenizer LoadTokenizer(ParsedArguments args)
    {
        if (args.String("model") is string modelDirectory)
        {
            return ModelFolder.LoadTokenizer(modelDirectory); // the tokenizer alone: no config.json or weights needed
        }
        string path = args.RequiredString("tokenizer");
        string configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", "tokenizer_config.json");
        return BpeTokenizer.Load(path, File.Exists(configPath) ? configPath : null);
    }

    private static void TokenizeJsonLines(BpeTokenizer tokenizer, string source, bool addSpecial, CliContext context)
    {
        // Standard input belongs to the caller: only a file we opened is disposed here.
        using StreamReader? file = source == "-" ? null : BoundedText.OpenStream(source, "JSONL file");
        TextReader reader = (TextReader?)file ?? context.In;
        string what = source == "-" ? "the JSONL on stdin" : $"{source}: the JSONL file";
        int lineNumber = 0;
        while (InputFiles.ReadLine(reader, what, MaxJsonLineChars, message => new UserInputException(message)) is string line)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            lineNumber++;
            // Output line N answers input line N, so results can be pasted next to their inputs: a blank line holds no
            // record and no text, and gets an empty list (not even BOS) rather than no line at all.
            int[] ids = line.Trim().Length == 0 ? [] : tokenizer.Encode(ReadTextField(line, source, lineNumber), addSpecial);
            context.Out.WriteLine("{\"ids\": " + IdsJson(ids) + "}");
        }
    }

    /// <summary>One JSONL record: far more text than any context window holds.</summary>
    private const long MaxJsonLineChars = 64L << 20;

    private static string ReadTextField(string line, string source, int lineNumber)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("text", out JsonElement text)
                && text.ValueKind == JsonValueKind.String)
            {
                return text.GetString()!;
            }
        }
        catch (JsonException)
        {
            // Reported below with the line number, like a wrong shape.
        }
        throw new UserInputException($"{source}: line {lineNumber}: expected a JSON object with a string field \"text\"");
    }

    private static string IdsJson(int[] ids) => "[" + string.Join(", ", ids) + "]";
}
