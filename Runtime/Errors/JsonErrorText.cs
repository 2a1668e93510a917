using System.Globalization;
using System.Text.Json;

namespace KernelSharp.Runtime;

/// <summary>
/// A System.Text.Json parse error in the words of a one-line message: where, counted from 1 as editors count, and why.
/// The library's own message ends with its 0-based position ("Path: $ | LineNumber: 2 | BytePositionInLine: 4."), so a
/// message that shows <see cref="Where"/> must use <see cref="Reason"/>, not the raw message, or the position is told twice.
/// </summary>
public static class JsonErrorText
{
    /// <summary>"line 3, position 5" (the position is a byte offset in the line), or null when the library gave none.</summary>
    public static string? Where(JsonException error)
        => error.LineNumber is long line
            ? string.Create(CultureInfo.InvariantCulture, $"line {line + 1}, position {(error.BytePositionInLine ?? 0) + 1}")
            : null;

    /// <summary>The library's message without the position it appends.</summary>
    public static string Reason(JsonException error)
    {
        string message = error.Message;
        foreach (string suffix in (string[])[" Path: ", " LineNumber: "])
        {
            int at = message.IndexOf(suffix, StringComparison.Ordinal);
            if (at >= 0)
            {
                message = message[..at];
            }
        }
        return message.Trim();
    }

    /// <summary>"(line 3, position 5): reason", or ": reason" when there is no position: what follows "not valid JSON".</summary>
    public static string Describe(JsonException error)
        => Where(error) is string where ? $" ({where}): {Reason(error)}" : $": {Reason(error)}";
}
