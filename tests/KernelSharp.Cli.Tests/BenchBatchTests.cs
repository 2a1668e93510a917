using System.Text.Json;

namespace KernelSharp.Cli.Tests;

/// <summary>bench -b: tg tests over batches of sequences decoded together.</summary>
public sealed class BenchBatchTests
{
    [Fact]
    public void Batch_sizes_each_get_a_tg_row_with_aggregate_tokens_and_the_time_per_step()
    {
        CliResult result = Cli.Run("bench", "-m", Fixtures.TinyBf16, "-p", "0", "-n", "3", "-d", "20", "-b", "1,4", "-r", "1", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var rows = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal([1, 4], rows.Select(r => r.GetProperty("n_batch").GetInt32()));
        Assert.Equal([3, 12], rows.Select(r => r.GetProperty("n_tokens").GetInt32()));
        Assert.Equal("tg3 @ d20", rows[0].GetProperty("test").GetString());
        Assert.Matches(@"^tg3 @ d20 b4 \([0-9.]+ ms/token/seq\)$", rows[1].GetProperty("test").GetString());
        Assert.All(rows, r => Assert.True(r.GetProperty("avg_ts").GetDouble() > 0));
    }

    [Fact]
    public void A_bad_batch_list_is_a_usage_error()
    {
        CliResult result = Cli.Run("bench", "-m", Fixtures.TinyBf16, "-p", "0", "-n", "3", "-b", "4,0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("-b/--batch: '0' is not an integer between 1 and 1024", result.Stderr);
    }
}
