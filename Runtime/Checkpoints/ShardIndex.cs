using System.Text.Json;

namespace KernelSharp.Runtime;

/// <summary>
/// <c>model.safetensors.index.json</c> of a sharded checkpoint: {"metadata": {"total_size": ...}, "weight_map": {tensor → shard file}}.
/// Shard names must be plain file names inside the checkpoint folder (never a path that leaves it).
/// </summary>
public sealed class ShardIndex
{
    public const string FileName = "model.safetensors.index.json";

    private ShardIndex(string path, IReadOnlyDictionary<string, string> weightMap)
    {
        Path = path;
        WeightMap = weightMap;
    }

    public string Path { get; }

    /// <summary>Tensor name → shard file name (relative to the folder of <see cref="Path"/>).</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary>Distinct shard file names, sorted.</summary>
    public IReadOnlyList<string> ShardFiles => WeightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    public static ShardIndex Load(string path)
    {
        byte[] bytes = InputFiles.ReadAllBytes(path, "shard index", InputFiles.ShardIndexLimit, message => new CheckpointException(message));

        return Parse(bytes, path);
    }

    public static ShardIndex Parse(ReadOnlySpan<byte> json, string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not valid JSON{JsonErrorText.Describe(e)}", e);
        }

        using (document)
        {
            try
            {
                return FromDocument(document, path);
            }
            catch (InvalidOperationException e)
            {
                // An escaped lone surrogate ("\ud800") is valid JSON but not a valid .NET string.
                throw new CheckpointException($"{path}: holds a string that is not valid text ({e.Message})", e);
            }
        }
    }

    private static ShardIndex FromDocument(JsonDocument document, string path)
    {
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("weight_map", out JsonElement map)
            || map.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointException($"{path}: expected a JSON object with a 'weight_map' object (tensor name → shard file)");
        }

        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (JsonProperty entry in map.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new CheckpointException($"{path}: weight_map entry for tensor '{entry.Name}' must be a shard file name (a string)");
            }

            string file = entry.Value.GetString()!;
            if (!IsPlainFileName(file))
            {
                throw new CheckpointException($"{path}: tensor '{entry.Name}' is mapped to '{file}'; expected a file name inside the checkpoint folder");
            }

            if (!weightMap.TryAdd(entry.Name, file))
            {
                throw new CheckpointException($"{path}: weight_map lists tensor '{entry.Name}' twice");
            }
        }

        if (weightMap.Count == 0)
        {
            throw new CheckpointException($"{path}: weight_map is empty; expected tensor name → shard file entries");
        }

        return new ShardIndex(path, weightMap);
    }

    private static bool IsPlainFileName(string file) =>
        file.Length > 0
        && file != "."
        && file != ".."
        && file.IndexOfAny(['/', '\\', '\0']) < 0
        && !System.IO.Path.IsPathRooted(file);
}
