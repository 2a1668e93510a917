using System.Globalization;
using System.Text;

namespace KernelSharp.Tools.KernelBench;

/// <summary>One line of the performance table. Ratio: ours over the baseline or ceiling (higher is better).</summary>
public sealed record BenchRow(string What, string Ours, string Baseline, double? Ratio, string Target, bool? Met, string Note = "");

/// <summary>Collects rows as the benchmarks run (a failing benchmark becomes a row saying so) and renders markdown.</summary>
public sealed class ResultTable(string? outPath = null, string header = "")
{
    private readonly List<BenchRow> rows = [];

    public IReadOnlyList<BenchRow> Rows => rows;

    public void Add(BenchRow row)
    {
        rows.Add(row);
        Console.WriteLine($"ROW | {row.What} | {row.Ours} | {row.Baseline} | {Format(row.Ratio)} | {row.Target} | {Met(row.Met)} | {row.Note}");
        // Rewritten after every row: a run cut short by the device call's time limit still leaves the rows it measured.
        if (outPath is not null)
            File.WriteAllText(outPath, header + ToMarkdown());
    }

    /// <summary>Runs one benchmark; an exception (wrong result, missing kernel, launch failure) is recorded as a failed row.</summary>
    public void Run(string what, Func<IEnumerable<BenchRow>> benchmark)
    {
        try
        {
            foreach (var row in benchmark())
                Add(row);
        }
        catch (Exception e)
        {
            var inner = e is System.Reflection.TargetInvocationException { InnerException: { } i } ? i : e;
            Add(new BenchRow(what, "FAILED", "", null, "", false, $"{inner.GetType().Name}: {inner.Message.Split('\n')[0]}"));
        }
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| what | ours | baseline / ceiling | ratio | target | met? | notes |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var row in rows)
            text.AppendLine($"| {row.What} | {row.Ours} | {row.Baseline} | {Format(row.Ratio)} | {row.Target} | {Met(row.Met)} | {row.Note.Replace('|', '/')} |");
        return text.ToString();
    }

    /// <summary>A token count as the table writes it: 32K, 8K, or the plain number below 1024.</summary>
    public static string Tokens(int count) => count >= 1024 && count % 1024 == 0 ? $"{count / 1024}K" : count.ToString(CultureInfo.InvariantCulture);

    public static string F(double value, string format = "F2") => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Format(double? ratio) => ratio is { } r ? F(r, r >= 10 ? "F1" : "F2") + (r >= 1.5 ? "×" : "") : "";

    private static string Met(bool? met) => met switch { true => "yes", false => "**no**", null => "" };
}
