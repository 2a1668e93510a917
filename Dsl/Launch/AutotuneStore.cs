using System.Text.Json;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// The autotuner's saved choices: a JSON object <c>{ "device|kernel|shape": "VariantMethod" }</c> in
/// <c>LocalApplicationData/kernelsharp/autotune.json</c>, or the path in <c>KERNELSHARP_AUTOTUNE_FILE</c>.
/// A missing file counts as empty (tuning runs again); writes go through a temporary file. A file that is there but
/// cannot be used is never destroyed, since the path may name a file of the user's: one that is not such an object is
/// moved aside to <c>FILE.corrupt</c> (or <c>FILE.corrupt.N</c>, never over an earlier one) before a new one is written,
/// and one that cannot be read is left alone, the choices kept in memory for this run; either way one warning names it.
/// </summary>
public sealed class AutotuneStore
{
    private static AutotuneStore? shared;
    private readonly object gate = new();
    private readonly Action<string> warn;
    private Dictionary<string, string>? entries;
    private bool warned;
    private bool leaveFileAlone;

    /// <param name="warn">Receives the one warning about an unusable file (default: a line on stderr).</param>
    public AutotuneStore(string path, Action<string>? warn = null)
    {
        Path = path;
        this.warn = warn ?? (message => Console.Error.WriteLine(message));
    }

    /// <summary>The store at the path the environment names now (so a test may point KERNELSHARP_AUTOTUNE_FILE elsewhere).</summary>
    public static AutotuneStore Shared
    {
        get
        {
            string path = DefaultPath();
            var current = Volatile.Read(ref shared);
            if (current != null && current.Path == path)
                return current;
            var created = new AutotuneStore(path);
            Volatile.Write(ref shared, created);
            return created;
        }
    }

    public string Path { get; }

    public static string DefaultPath()
    {
        string? overridePath = Environment.GetEnvironmentVariable("KERNELSHARP_AUTOTUNE_FILE");
        if (!string.IsNullOrWhiteSpace(overridePath))
            return overridePath;
        string root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create);
        if (string.IsNullOrEmpty(root))
            root = System.IO.Path.GetTempPath();
        return System.IO.Path.Combine(root, "kernelsharp", "autotune.json");
    }

    public string? Get(string key)
    {
        lock (gate)
        {
            entries ??= Load();
            return entries.TryGetValue(key, out var value) ? value : null;
        }
    }

    public void Set(string key, string variant)
    {
        lock (gate)
        {
            // Re-read so that choices saved meanwhile by another process are kept.
            Dictionary<string, string> current = leaveFileAlone ? new(StringComparer.Ordinal) : Load();
            if (leaveFileAlone)
            {
                // Nothing reaches the file: memory keeps this run's choices.
                foreach ((string known, string chosen) in entries ?? [])
                    current.TryAdd(known, chosen);
            }
            entries = current;
            entries[key] = variant;
            Save(entries);
        }
    }

    private Dictionary<string, string> Load()
    {
        string text;
        try
        {
            if (Directory.Exists(Path))
                throw new IOException("it is a folder");
            if (!File.Exists(Path))
                return new Dictionary<string, string>(StringComparer.Ordinal);
            text = File.ReadAllText(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Unusable($"cannot be read ({e.Message}); it is left as it is and this run's choices are not saved");
            leaveFileAlone = true;
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }

        string problem;
        try
        {
            var loaded = JsonSerializer.Deserialize<Dictionary<string, string>>(text);
            if (loaded != null)
                return new Dictionary<string, string>(loaded, StringComparer.Ordinal);
            problem = "it holds null";
        }
        catch (JsonException e)
        {
            problem = e.Message.ReplaceLineEndings(" ");
        }

        // Set aside, not overwritten: the path may be a file the user cares about, and a corrupt store is worth a look.
        if (MoveAside() is string aside)
        {
            Unusable($"is not a JSON object of kernel choices ({problem}); moved it to {aside} and starting a new one");
        }
        else
        {
            Unusable($"is not a JSON object of kernel choices ({problem}) and could not be moved aside; it is left as it is and this run's choices are not saved");
            leaveFileAlone = true;
        }
        return new Dictionary<string, string>(StringComparer.Ordinal);
    }

    /// <summary>Moves the store to the first free name of FILE.corrupt, FILE.corrupt.1, …; null when it could not be moved.</summary>
    private string? MoveAside()
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            string aside = Path + ".corrupt" + (attempt == 0 ? string.Empty : "." + attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (File.Exists(aside) || Directory.Exists(aside))
                continue;
            try
            {
                File.Move(Path, aside, overwrite: false);
                return aside;
            }
            catch (IOException) when (File.Exists(aside) && File.Exists(Path))
            {
                // Taken meanwhile by another process setting its own copy aside: try the next name.
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
        return null;
    }

    private void Unusable(string what)
    {
        if (warned)
            return;
        warned = true;
        warn($"warning: the autotune file {Path} {what}");
    }

    private void Save(Dictionary<string, string> values)
    {
        if (leaveFileAlone)
            return;
        try
        {
            string? folder = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(folder))
                Directory.CreateDirectory(folder);
            var sorted = new SortedDictionary<string, string>(values, StringComparer.Ordinal);
            string temp = Path + "." + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(sorted, new JsonSerializerOptions { WriteIndented = true }));
            File.Move(temp, Path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only cache folder only costs a re-tune next run.
        }
    }
}
