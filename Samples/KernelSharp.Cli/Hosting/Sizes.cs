using System.Globalization;

namespace KernelSharp.Cli.Hosting;

/// <summary>Human-readable sizes and counts, invariant culture (1.50 GiB, 671.03 B).</summary>
public static class Sizes
{
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:F2} {units[unit]}");
    }

    /// <summary>A parameter count: 1.23 M, 671.03 B (llama-bench style).</summary>
    public static string Count(long count)
    {
        (double Scale, string Suffix)[] steps = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")];
        foreach ((double scale, string suffix) in steps)
        {
            if (count >= scale)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{count / scale:F2} {suffix}");
            }
        }
        return count.ToString(CultureInfo.InvariantCulture);
    }
}
