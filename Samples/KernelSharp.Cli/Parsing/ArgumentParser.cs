using System.CommandLine;
using System.CommandLine.Parsing;

namespace KernelSharp.Cli.Parsing;

/// <summary>
/// Splits a verb's arguments into option values with System.CommandLine: <c>--name value</c>, <c>--name=value</c> (or
/// <c>--name:value</c>), <c>-x value</c>, and <c>@file</c> response files. A value may start with '-' (so <c>-n -5</c>
/// reaches the range check instead of a confusing "unknown option": the library only treats a token as an option when it
/// is one of the verb's names). <c>--</c> ends the options, as in POSIX tools: what follows is the verb's operand (a
/// prompt that starts with '-'), never an option or a response file. The parse outcome is turned into the one-line
/// usage errors the tool has always printed.
/// </summary>
public static class ArgumentParser
{
    /// <summary>Parses the arguments that follow the verb's name.</summary>
    public static ParsedArguments Parse(VerbSpec verb, IReadOnlyList<string> args)
    {
        // Split here rather than in the library: what follows "--" must not be read as a response file (@name) either.
        int endOfOptions = args.ToList().IndexOf(EndOfOptions);
        IReadOnlyList<string> options = endOfOptions < 0 ? args : args.Take(endOfOptions).ToArray();

        CommandTree tree = CommandTree.ForVerb(verb);
        Command command = tree.CommandOf(verb);
        var fromResponseFiles = new List<string>();
        string[] written = [.. options.SelectMany(arg => KeepEmptyInlineValue(verb, arg))];
        ParseResult result = tree.Root.Parse([verb.Name, .. written], Configuration(fromResponseFiles));

        if (FirstProblem(verb, tree, command, result, [.. options, .. fromResponseFiles]) is string problem)
        {
            throw new UsageException(problem);
        }
        string? operand = endOfOptions < 0 ? null : ReadOperand(verb, args.Skip(endOfOptions + 1).ToArray()); // after the options' problems: command-line order

        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (Option option in command.Options)
        {
            if (result.GetResult(option) is not OptionResult { Implicit: false })
            {
                continue;
            }
            OptionSpec spec = tree.SpecOf(option);
            values[spec.Long] = option switch
            {
                Option<bool> flag => [result.GetValue(flag) ? "true" : "false"],
                Option<string[]> repeatable => [.. result.GetValue(repeatable) ?? []],
                Option<string> single => [result.GetValue(single)!],
                _ => throw new InvalidOperationException($"option {option.Name} has no value type the tool reads"),
            };
        }
        return new ParsedArguments(verb, values, operand);
    }

    /// <summary>The argument that marks the end of the options.</summary>
    public const string EndOfOptions = "--";

    /// <summary>
    /// What follows <c>--</c>: the verb's one operand, or null when nothing does. More than one is refused rather than
    /// joined (the spaces between shell words are lost), and so is any for a verb that reads none.
    /// </summary>
    private static string? ReadOperand(VerbSpec verb, IReadOnlyList<string> after)
    {
        if (after.Count == 0)
        {
            return null;
        }
        if (verb.Operand is not OperandSpec operand)
        {
            throw new UsageException($"unexpected argument '{after[0]}' after '--': {verb.Name} reads nothing there (see kernelsharp {verb.Name} --help)");
        }
        if (after.Count > 1)
        {
            throw new UsageException($"'--' is followed by {after.Count} arguments; {verb.Name} reads one {operand.ValueName} there: quote it (\"{string.Join(' ', after)}\")");
        }
        return after[0];
    }

    /// <summary>
    /// No POSIX bundling (<c>-abc</c> is not <c>-a -b -c</c>: short names are llama.cpp's, and "-ngl"-style typos should be
    /// reported, not split). Response files are the library's (one or more arguments a line, '#' comments, quotes), read only
    /// when the file exists, so a value such as <c>-p @alice</c> stays text when there is no file "alice".
    /// </summary>
    public static ParserConfiguration Configuration(List<string>? readTokens = null)
    {
        TryReplaceToken library = new ParserConfiguration().ResponseFileTokenReplacer!;
        return new ParserConfiguration
        {
            EnablePosixBundling = false,
            ResponseFileTokenReplacer = (string path, out IReadOnlyList<string>? tokens, out string? error) =>
            {
                if (!File.Exists(path))
                {
                    tokens = null;
                    error = null;   // not a response file: the token is kept as written
                    return false;
                }
                if (!library(path, out tokens, out _))
                {
                    // The library's message names the outer file even when a file it names is the one missing.
                    error = $"response file '{path}' could not be read (a response file named in it is missing, or reading failed)";
                    return false;
                }
                readTokens?.AddRange(tokens ?? []);
                error = null;
                return true;
            },
        };
    }

    /// <summary>
    /// <c>--name=</c> with nothing after the separator: the library drops the empty value, and the option would then take
    /// the next argument as its value. Passing the empty value on as a token of its own keeps what it always meant: an
    /// empty value (or, for a flag, "takes no value").
    /// </summary>
    private static IEnumerable<string> KeepEmptyInlineValue(VerbSpec verb, string arg)
    {
        if (arg.Length > 2 && arg[^1] is '=' or ':' && arg[0] == '-'
            && verb.AllOptions.Any(o => arg[..^1] == "--" + o.Long || (o.Short is not null && arg[..^1] == "-" + o.Short)))
        {
            return [arg[..^1], string.Empty];
        }
        return [arg];
    }

    /// <summary>
    /// The first thing wrong, walking the tokens in command-line order, in the words the tests pin; null when the command line
    /// is fine. Which tokens an option took comes from the parse result; anything the library rejects that has no message of
    /// ours (an unreadable response file) is reported in its own words.
    /// </summary>
    private static string? FirstProblem(VerbSpec verb, CommandTree tree, Command command, ParseResult result, IReadOnlyList<string> written)
    {
        var taken = new HashSet<Token>(ReferenceEqualityComparer.Instance);
        var optionsByName = new Dictionary<string, Option>(StringComparer.Ordinal);
        foreach (Option option in command.Options)
        {
            optionsByName[option.Name] = option;
            foreach (string alias in option.Aliases)
            {
                optionsByName[alias] = option;
            }
            if (result.GetResult(option) is OptionResult optionResult)
            {
                taken.UnionWith(optionResult.Tokens);
            }
        }

        var seen = new HashSet<OptionSpec>();
        IReadOnlyList<Token> tokens = result.Tokens;
        for (int i = 0; i < tokens.Count; i++)
        {
            Token token = tokens[i];
            Token? next = i + 1 < tokens.Count ? tokens[i + 1] : null;
            switch (token.Type)
            {
                case TokenType.Option:
                    OptionSpec spec = tree.SpecOf(optionsByName[token.Value]);
                    if (spec.IsFlag)
                    {
                        // "--flag=value" is split by the library into the flag and a value nobody takes.
                        if (next is { Type: TokenType.Argument } && !taken.Contains(next)
                            && (written.Contains($"{token.Value}={next.Value}") || written.Contains($"{token.Value}:{next.Value}")))
                        {
                            return $"option --{spec.Long} takes no value";
                        }
                    }
                    else if (next is null || !taken.Contains(next))
                    {
                        return $"option {spec.DisplayName} needs a value ({spec.ValueName})";
                    }
                    if (!seen.Add(spec) && !spec.Repeatable)
                    {
                        return $"option {spec.DisplayName} is given twice";
                    }
                    break;

                case TokenType.Argument when !taken.Contains(token):
                    return Unexpected(verb, token.Value);

                case TokenType.DoubleDash:
                    // The command line's own "--" never reaches the library (Parse splits at it); this one came from a file.
                    return $"'--' ends the options only on the command line, not inside a response file (see kernelsharp {verb.Name} --help)";
            }
        }
        return result.Errors.Count > 0 ? result.Errors[0].Message : null;
    }

    private static string Unexpected(VerbSpec verb, string arg)
    {
        if (arg.StartsWith('-') && arg != "-")
        {
            int equals = arg.IndexOf('=');
            return UnknownOption(verb, arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? arg[..equals] : arg);
        }
        if (arg.Length > 1 && arg[0] == '@')
        {
            return $"response file '{arg[1..]}' not found (see kernelsharp {verb.Name} --help)";
        }
        return $"unexpected argument '{arg}' (see kernelsharp {verb.Name} --help)";
    }

    private static string UnknownOption(VerbSpec verb, string name)
        => $"unknown option '{name}' for {verb.Name}{SuggestOption(verb, name)} (see kernelsharp {verb.Name} --help)";

    /// <summary>"; did you mean '--temp'?" for a mistyped long option (short ones are one letter: any guess is noise).</summary>
    private static string SuggestOption(VerbSpec verb, string written)
        => written.StartsWith("--", StringComparison.Ordinal)
            ? Suggestions.DidYouMean(written[2..], verb.AllOptions.Select(o => o.Long), "--")
            : string.Empty;
}
