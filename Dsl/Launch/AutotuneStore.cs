using System.Text.Json;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// The autotuner's saved choices: a JSON object <c>{ "device|kernel|shape": "VariantMethod" }</c> in
/// <c>LocalApplicationData/kernelsharp/autotune.json</c>, or the path in <c>KERNELSHARP_AUTOTUNE_FILE</c>.
/// A missing or unreadable file counts as empty (tuning runs again); writes go through a temporary file.
/// </summary>
public sealed class AutotuneStore
{
    private static AutotuneStore? shared;
    private readonly object gate = new();
    private Dictionary<string, string>? entries;

    public AutotuneStore(string path) => Path = path;

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
            entries = Load();
            entries[key] = variant;
            Save(entries);
        }
    }

    private Dictionary<string, string> Load()
    {
        try
        {
            if (!File.Exists(Path))
                return new Dictionary<string, string>(StringComparer.Ordinal);
            var loaded = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path));
            return loaded == null ? new(StringComparer.Ordinal) : new(loaded, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }
    }

    private void Save(Dictionary<string, string> values)
    {
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
