using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using KernelSharp.Generators.Models;
using Microsoft.CodeAnalysis;

namespace KernelSharp.Generators.Parsing;

/// <summary>
/// Reads integer values out of model config files given as AdditionalFiles (<c>config.json</c> or <c>*.config.json</c>),
/// for <c>[Shape(ConfigKey = "hidden_size")]</c>. Every <c>"key": integer</c> pair at any depth counts; other values
/// (strings, floats, arrays) are ignored, so a full Hugging Face config.json works as is.
/// </summary>
internal static class ConfigFileParser
{
    private static readonly Regex IntegerPair = new("\"(?<key>[A-Za-z0-9_.\\-]+)\"\\s*:\\s*(?<value>-?[0-9]+)(?![0-9.eE])", RegexOptions.CultureInvariant);

    public static bool IsConfigFile(AdditionalText file)
    {
        string name = Path.GetFileName(file.Path);
        return name.Equals("config.json", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".config.json", StringComparison.OrdinalIgnoreCase);
    }

    public static EquatableArray<ConfigShapeEntry> Parse(AdditionalText file, CancellationToken cancellation)
    {
        string? text = file.GetText(cancellation)?.ToString();
        return text == null ? EquatableArray<ConfigShapeEntry>.Empty : ParseText(text);
    }

    public static EquatableArray<ConfigShapeEntry> ParseText(string text)
    {
        var entries = new List<ConfigShapeEntry>();
        foreach (Match match in IntegerPair.Matches(text))
        {
            if (int.TryParse(match.Groups["value"].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
                entries.Add(new ConfigShapeEntry(match.Groups["key"].Value, value));
        }
        return entries.ToEquatableArray();
    }

    /// <summary>Merges every file's pairs into one sorted, duplicate-free table.</summary>
    public static ConfigShapeTable Merge(ImmutableArray<EquatableArray<ConfigShapeEntry>> files, CancellationToken cancellation) =>
        new(files.SelectMany(f => f).Distinct()
            .OrderBy(e => e.Key, StringComparer.Ordinal).ThenBy(e => e.Value).ToEquatableArray());
}
