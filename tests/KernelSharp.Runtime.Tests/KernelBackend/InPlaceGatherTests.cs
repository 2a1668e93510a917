using System.Runtime.InteropServices;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Model.Kernels;
using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// A table gathered in place from the mapped checkpoint (the embedding on the generated CPU path) gives its rows and
/// leaves none of its pages resident after the gather: each row's fault maps the page cache's folio around it, so the
/// tokens of a long decode otherwise kept most of the table in the process.
/// </summary>
public sealed class InPlaceGatherTests : IDisposable
{
    private const int Rows = 8192, Columns = 256; // 4 MiB of bf16

    private readonly string directory = Directory.CreateTempSubdirectory("ks-gather-").FullName;
    private readonly ushort[] table = new ushort[Rows * Columns];

    public InPlaceGatherTests()
    {
        var random = new Random(21);
        for (int i = 0; i < table.Length; i++)
            table[i] = (ushort)(random.Next(1 << 15) & 0xBFFF); // finite bf16: exponent below all-ones
        using var writer = new SafeTensorsWriter(Path.Combine(directory, Checkpoint.SingleFileName),
            [new SafeTensorsEntry("embed.weight", TensorDType.BF16, [Rows, Columns])]);
        writer.WriteTensor("embed.weight", MemoryMarshal.AsBytes(table.AsSpan()).ToArray());
        writer.Complete();
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [SkippableFact]
    public void Gathered_rows_are_the_tables_and_their_pages_are_handed_back()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "pages are handed back on Linux only");
        using var kernels = KernelModelBackend.Create(KernelBackend.FastCpu);
        using var checkpoint = Checkpoint.Open(directory);
        var loader = new WeightLoader(new CheckpointWeightSource(checkpoint), kernels, 1, null);
        using var weight = loader.GatherTable("embed.weight", Rows, Columns);
        var stored = Assert.IsAssignableFrom<KernelWeight>(weight);
        Assert.NotEqual(0, stored.InPlace.Address); // read where it is mapped, not copied

        // Every 16th row: without the hand-back each row's fault would leave its folio, so the whole table, resident.
        int[] ids = [.. Enumerable.Range(0, Rows / 16).Select(i => (i * 16 + i % 7) % Rows)];
        using var gathered = kernels.GatherRows(weight, ids);
        var values = kernels.Download(gathered);
        for (int t = 0; t < ids.Length; t++)
        {
            for (int c = 0; c < Columns; c++)
            {
                Assert.Equal(Bf16.ToFloat(table[ids[t] * Columns + c]), values[t * Columns + c]);
            }
        }

        long resident = ResidentKilobytes(stored.InPlace.Address);
        Assert.True(resident <= 64, $"{resident} KiB of the mapped checkpoint stayed resident after the gather (the table is {Rows * Columns * 2 >> 10} KiB)");
    }

    /// <summary>Rss of the mapping that contains <paramref name="address"/>, from /proc/self/smaps.</summary>
    private static long ResidentKilobytes(nint address)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int space = line.IndexOf(' ');
            if (space > 0 && line[..space].Split('-') is [var low, var high]
                && long.TryParse(low, System.Globalization.NumberStyles.HexNumber, null, out long from)
                && long.TryParse(high, System.Globalization.NumberStyles.HexNumber, null, out long to))
            {
                inside = address >= from && address < to;
                continue;
            }

            if (inside && line.StartsWith("Rss:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        }

        throw new InvalidOperationException($"no mapping holds 0x{address:X}");
    }
}
