using System.Globalization;

namespace KernelSharp.Cli.Parsing;

/// <summary>
/// The option values of one verb call, read through typed getters that check ranges and throw a
/// <see cref="UsageException"/> whose message names the option and the valid range.
/// </summary>
public sealed class ParsedArguments(VerbSpec verb, IReadOnlyDictionary<string, List<string>> values, string? operand = null)
{
    public VerbSpec Verb { get; } = verb;

    /// <summary>The argument given after <c>--</c> (<see cref="VerbSpec.Operand"/>), or null when none was.</summary>
    public string? Operand { get; } = operand;

    public bool Has(string longName) => values.ContainsKey(Spec(longName).Long);

    public bool Flag(string longName) => Has(longName);

    public string? String(string longName) => values.TryGetValue(Spec(longName).Long, out var list) ? list[^1] : null;

    public string RequiredString(string longName)
        => String(longName) ?? throw new UsageException($"{Spec(longName).DisplayName} {Spec(longName).ValueName} is required");

    public IReadOnlyList<string> All(string longName)
        => values.TryGetValue(Spec(longName).Long, out var list) ? list : [];

    /// <summary>An integer in [min, max] (inclusive), or the default when absent.</summary>
    public int Int(string longName, int defaultValue, int min, int max)
    {
        string? text = String(longName);
        if (text is null)
        {
            return defaultValue;
        }
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) || value < min || value > max)
        {
            throw new UsageException($"{Spec(longName).DisplayName} must be an integer between {min} and {max}, got '{text}'");
        }
        return (int)value;
    }

    /// <summary>A finite number accepted by <paramref name="isValid"/>, whose range is described by <paramref name="validRange"/>.</summary>
    public float Float(string longName, float defaultValue, Func<float, bool> isValid, string validRange)
    {
        string? text = String(longName);
        if (text is null)
        {
            return defaultValue;
        }
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value) || !isValid(value))
        {
            throw new UsageException($"{Spec(longName).DisplayName} must be {validRange}, got '{text}'");
        }
        return value;
    }

    /// <summary>One of a fixed set of words (case-insensitive), returned lower-case.</summary>
    public string Choice(string longName, string defaultValue, params string[] choices)
    {
        string? text = String(longName);
        if (text is null)
        {
            return defaultValue;
        }
        string lower = text.ToLowerInvariant();
        if (!choices.Contains(lower))
        {
            throw new UsageException($"{Spec(longName).DisplayName} must be one of {string.Join('|', choices)}, got '{text}'");
        }
        return lower;
    }

    /// <summary>A comma-separated list of integers, each in [min, max]; an empty item is refused (<see cref="CommaList"/>).</summary>
    public int[] IntList(string longName, int min, int max)
    {
        string text = RequiredString(longName);
        if (text.Split(',').All(item => item.Trim().Length == 0))
        {
            throw new UsageException($"{Spec(longName).DisplayName} needs at least one integer");
        }
        string[] parts = CommaList.Split(text, Spec(longName).DisplayName);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) || value < min || value > max)
            {
                throw new UsageException($"{Spec(longName).DisplayName}: '{parts[i]}' is not an integer between {min} and {max}");
            }
            result[i] = (int)value;
        }
        return result;
    }

    /// <summary>Fails with a usage error when more than one of the options is present.</summary>
    public void AtMostOneOf(params string[] longNames) => AtMostOneOf(longNames, []);

    /// <summary>
    /// As <see cref="AtMostOneOf(string[])"/>, with the argument after <c>--</c> (<see cref="Operand"/>, shown as
    /// <c>-- TEXT</c>) counted among the alternatives: it stands in for one of these options.
    /// </summary>
    public void AtMostOneOfOrOperand(params string[] longNames)
        => AtMostOneOf(longNames, Operand is null ? [] : [$"{ArgumentParser.EndOfOptions} {Verb.Operand!.ValueName}"]);

    private void AtMostOneOf(string[] longNames, string[] alsoGiven)
    {
        string[] given = [.. longNames.Where(Has).Select(n => Spec(n).DisplayName), .. alsoGiven];
        if (given.Length > 1)
        {
            throw new UsageException($"give only one of {string.Join(", ", given)}");
        }
    }

    private OptionSpec Spec(string longName)
        => Verb.AllOptions.FirstOrDefault(o => o.Long == longName)
            ?? throw new InvalidOperationException($"verb {Verb.Name} has no option --{longName}");
}
