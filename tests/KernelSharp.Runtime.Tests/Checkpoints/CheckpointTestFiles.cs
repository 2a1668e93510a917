using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace KernelSharp.Runtime.Tests.Checkpoints;

/// <summary>Where the fixtures are, scratch folders that clean themselves up, and hand-built safetensors files.</summary>
internal static class CheckpointTestFiles
{
    public static string FixturesFolder { get; } = FindFixtures();

    public static string TinyBf16 => Path.Combine(FixturesFolder, "tiny-dsa-bf16");

    public static string TinyFp8Yarn => Path.Combine(FixturesFolder, "tiny-dsa-fp8-yarn");

    /// <summary>Builds a safetensors file from a header JSON text and a data section (no validation: tests break files on purpose).</summary>
    public static byte[] RawFile(string headerJson, byte[] data)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    // Tests may build into an artifacts folder outside the repository, so look relative to this source file first.
    private static string FindFixtures([CallerFilePath] string sourceFile = "")
    {
        var candidates = new List<string>();
        if (Path.GetDirectoryName(sourceFile) is string sourceFolder)
        {
            candidates.Add(Path.Combine(sourceFolder, "..", "..", "fixtures"));
        }

        for (string? folder = AppContext.BaseDirectory; folder is not null; folder = Path.GetDirectoryName(folder))
        {
            candidates.Add(Path.Combine(folder, "tests", "fixtures"));
        }

        return candidates.Select(Path.GetFullPath).FirstOrDefault(c => Directory.Exists(Path.Combine(c, "tiny-dsa-bf16")))
            ?? throw new DirectoryNotFoundException("tests/fixtures not found next to the test sources or above " + AppContext.BaseDirectory);
    }
}

/// <summary>A fresh folder under the system temp folder, deleted on dispose. Tests never write into the fixtures.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ks-ckpt-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Copies a fixture checkpoint's files (not the goldens) into a subfolder and returns it.</summary>
    public string CopyOf(string fixtureFolder, string name = "model")
    {
        string destination = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(destination);
        foreach (string file in Directory.EnumerateFiles(fixtureFolder))
        {
            if (!System.IO.Path.GetFileName(file).StartsWith("golden", StringComparison.Ordinal))
            {
                string copy = System.IO.Path.Combine(destination, System.IO.Path.GetFileName(file));
                System.IO.File.Copy(file, copy);
                System.IO.File.SetAttributes(copy, FileAttributes.Normal); // fixtures are read-only; copies get mutated
            }
        }

        return destination;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A mapping still open on some platforms; the OS temp cleaner will get it.
        }
    }
}
