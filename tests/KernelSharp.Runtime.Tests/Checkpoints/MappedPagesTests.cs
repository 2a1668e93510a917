using System.IO.MemoryMappedFiles;
using Xunit;

namespace KernelSharp.Runtime.Tests.Checkpoints;

/// <summary>Released pages of a read-only file mapping leave the process's resident set and still read the file's bytes.</summary>
public sealed class MappedPagesTests
{
    [SkippableFact]
    public unsafe void Released_pages_leave_the_resident_set_and_read_back_the_same_bytes()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "madvise is used on Linux only");
        string path = Path.Combine(Path.GetTempPath(), $"ks-mapped-pages-{Guid.NewGuid():N}.bin");
        const int length = 16 << 20;
        var bytes = new byte[length];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        try
        {
            using var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            using var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* start = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            try
            {
                start += view.PointerOffset;
                long sum = 0;
                for (int i = 0; i < length; i += 64)
                    sum += start[i];
                long before = ResidentKilobytes((nint)start);
                MappedPages.Release(start + 1, length - 1); // an unaligned start: the partial first page stays
                long after = ResidentKilobytes((nint)start);
                Assert.True(before >= (length >> 10) * 3 / 4, $"the whole file was read: {before} KiB resident");
                Assert.True(after * 8 <= before, $"{after} KiB stayed resident after the release, {before} before");
                Assert.True(new ReadOnlySpan<byte>(start, length).SequenceEqual(bytes), "released pages read the file's bytes again");
                Assert.NotEqual(-1, sum);
            }
            finally
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Rss of the mapping that contains <paramref name="address"/>, from /proc/self/smaps.</summary>
    private static long ResidentKilobytes(nint address)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            if (dash > 0 && line.Length > dash + 1 && char.IsAsciiHexDigit(line[0]) && line.Contains(' '))
            {
                string[] range = line[..line.IndexOf(' ')].Split('-');
                if (range.Length == 2 && long.TryParse(range[0], System.Globalization.NumberStyles.HexNumber, null, out long low)
                    && long.TryParse(range[1], System.Globalization.NumberStyles.HexNumber, null, out long high))
                {
                    inside = address >= low && address < high;
                    continue;
                }
            }
            if (inside && line.StartsWith("Rss:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"no mapping holds 0x{address:X}");
    }
}
