namespace KernelSharp.Runtime;

/// <summary>
/// The files and folders a command reads, in canonical form (links resolved), which no output may land on or in.
/// A model folder protects itself and every entry in it: in Hugging Face's cache each file is a link into a shared
/// blobs folder, so the blob a link points to must be protected too, not only the spelling the user gave.
/// </summary>
public sealed class ProtectedInputs
{
    private readonly List<string> folders = [];
    private readonly HashSet<string> files = new(StringComparer.Ordinal);

    /// <summary>Protects <paramref name="folder"/>, everything inside it, and whatever its entries link to.</summary>
    public ProtectedInputs AddModelFolder(string folder)
    {
        string canonical = RealPaths.Resolve(folder);
        folders.Add(canonical);
        if (Directory.Exists(canonical))
        {
            foreach (string entry in Directory.EnumerateFileSystemEntries(folder))
            {
                AddFile(entry);
            }
        }
        return this;
    }

    /// <summary>Protects one input file (its link target when it is a link).</summary>
    public ProtectedInputs AddFile(string file)
    {
        files.Add(RealPaths.Resolve(file));
        return this;
    }

    /// <summary>The protected input that <paramref name="canonicalOutput"/> would overwrite or write into, or null.</summary>
    public string? Conflict(string canonicalOutput)
    {
        if (files.Contains(canonicalOutput))
        {
            return canonicalOutput;
        }

        foreach (string folder in folders)
        {
            if (RealPaths.IsInside(canonicalOutput, folder) || RealPaths.IsInside(folder, canonicalOutput))
            {
                return folder;
            }
        }

        foreach (string file in files)
        {
            // An output folder that would hold (and so replace or delete) an input file.
            if (RealPaths.IsInside(file, canonicalOutput))
            {
                return file;
            }
        }

        return null;
    }
}
