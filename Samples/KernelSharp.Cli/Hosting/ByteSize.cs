using System.Globalization;
using KernelSharp.Cli.Parsing;

namespace KernelSharp.Cli.Hosting;

/// <summary>Sizes on the command line: a number with an optional K, M, G or T suffix (powers of 1024), e.g. 512M, 20G.</summary>
public static class ByteSize
{
    public static long? Read(ParsedArguments args, string longName)
    {
        string? text = args.String(longName);
        if (text is null)
        {
            return null;
        }

        string trimmed = text.Trim().TrimEnd('B', 'b').TrimEnd('i');
        long unit = trimmed.Length == 0 ? 1 : char.ToUpperInvariant(trimmed[^1]) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            'T' => 1L << 40,
            _ => 1,
        };
        string number = unit == 1 ? trimmed : trimmed[..^1];
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value) || value <= 0 || value * unit > long.MaxValue)
        {
            throw new UsageException($"--{longName} must be a size such as 512M or 20G, got '{text}'");
        }

        return (long)(value * unit);
    }

    /// <summary>
    /// <paramref name="bytes"/> as a size to type back (e.g. 5.4M), rounded up to one decimal: a bound shown as a lower
    /// limit is then accepted when typed, since it is never below the exact one.
    /// </summary>
    public static string FormatRoundedUp(long bytes)
    {
        (long unit, char suffix) = bytes switch
        {
            >= 1L << 40 => (1L << 40, 'T'),
            >= 1L << 30 => (1L << 30, 'G'),
            >= 1L << 20 => (1L << 20, 'M'),
            _ => (1L << 10, 'K'),
        };
        double tenths = Math.Ceiling(bytes * 10.0 / unit);
        return (tenths / 10).ToString("0.#", CultureInfo.InvariantCulture) + suffix;
    }
}
