using System.Text;
using System.Text.RegularExpressions;

namespace KernelSharp.Dsl;

/// <summary>
/// Removes what changes between otherwise identical PTX compilations, so PTX can be snapshot-tested: comment lines
/// (the ILGPU version banner), debug <c>.loc</c>/<c>.file</c> lines, blank lines, and the global node ids ILGPU
/// appends to parameter, function and label names (<c>_output_2696</c>, <c>L_26891</c>), which depend on how many
/// methods the process compiled before. Each such name is renumbered per base name in order of first appearance.
/// </summary>
public static partial class PtxScrubber
{
    public static string Scrub(string ptx)
    {
        ArgumentNullException.ThrowIfNull(ptx);
        var builder = new StringBuilder();
        var renames = new Dictionary<string, string>(StringComparer.Ordinal);
        var countsPerBase = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string rawLine in ptx.Split('\n'))
        {
            string line = rawLine.TrimEnd('\r', ' ', '\t');
            string trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed.StartsWith("//", StringComparison.Ordinal)
                || trimmed.StartsWith(".loc", StringComparison.Ordinal) || trimmed.StartsWith(".file", StringComparison.Ordinal))
                continue;
            line = NumberedName().Replace(line, match =>
            {
                if (!renames.TryGetValue(match.Value, out string? renamed))
                {
                    string baseName = match.Groups["base"].Value;
                    int next = countsPerBase.GetValueOrDefault(baseName);
                    countsPerBase[baseName] = next + 1;
                    renamed = $"{baseName}_{next}";
                    renames.Add(match.Value, renamed);
                }
                return renamed;
            });
            builder.Append(line).Append('\n');
        }
        return builder.ToString();
    }

    /// <summary>An identifier ending in <c>_digits</c> (registers such as <c>%r15</c> have no underscore; instruction
    /// names such as <c>m16n8k16</c> have no <c>_digits</c> tail; <c>__shared_alloca0</c> is stable and not matched;
    /// the target <c>sm_80</c> is kept).</summary>
    [GeneratedRegex(@"(?<![%\w])(?!sm_\d)(?<base>[A-Za-z_][A-Za-z0-9_]*?)_(?<id>\d+)\b")]
    private static partial Regex NumberedName();
}
