namespace KernelSharp.Cli.Parsing;

/// <summary>
/// Splits a verb's arguments into option values. Accepts <c>--name value</c>, <c>--name=value</c> and <c>-x value</c>;
/// a value may start with '-' (so <c>-n -5</c> reaches the range check instead of a confusing "unknown option").
/// </summary>
public static class ArgumentParser
{
    public static ParsedArguments Parse(VerbSpec verb, IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith('-') || arg == "-")
            {
                throw new UsageException($"unexpected argument '{arg}' (see kernelsharp {verb.Name} --help)");
            }
            string name = arg;
            string? inlineValue = null;
            int equals = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                name = arg[..equals];
                inlineValue = arg[(equals + 1)..];
            }
            OptionSpec option = Find(verb, name)
                ?? throw new UsageException($"unknown option '{name}' for {verb.Name}{SuggestOption(verb, name)} (see kernelsharp {verb.Name} --help)");

            string value;
            if (option.IsFlag)
            {
                if (inlineValue is not null)
                {
                    throw new UsageException($"option --{option.Long} takes no value");
                }
                value = "true";
            }
            else if (inlineValue is not null)
            {
                value = inlineValue;
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new UsageException($"option {option.DisplayName} needs a value ({option.ValueName})");
            }

            if (!values.TryGetValue(option.Long, out List<string>? list))
            {
                values[option.Long] = list = [];
            }
            else if (!option.Repeatable)
            {
                throw new UsageException($"option {option.DisplayName} is given twice");
            }
            list.Add(value);
        }
        return new ParsedArguments(verb, values);
    }

    /// <summary>"; did you mean '--temp'?" for a mistyped long option (short ones are one letter: any guess is noise).</summary>
    private static string SuggestOption(VerbSpec verb, string written)
        => written.StartsWith("--", StringComparison.Ordinal)
            ? Suggestions.DidYouMean(written[2..], verb.AllOptions.Select(o => o.Long), "--")
            : string.Empty;

    private static OptionSpec? Find(VerbSpec verb, string written)
    {
        if (written.StartsWith("--", StringComparison.Ordinal))
        {
            string longName = written[2..];
            return verb.AllOptions.FirstOrDefault(o => o.Long == longName);
        }
        string shortName = written[1..];
        return verb.AllOptions.FirstOrDefault(o => o.Short == shortName);
    }
}
