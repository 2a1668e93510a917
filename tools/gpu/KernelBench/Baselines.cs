using System.Text.Json;

namespace KernelSharp.Tools.KernelBench;

/// <summary>The PyTorch figures of tools/gpu/baselines.py (same device call), read from its JSON; missing entries read as null.</summary>
public sealed class Baselines
{
    private readonly JsonElement? root;

    private Baselines(JsonElement? root) => this.root = root;

    public static Baselines Load(string? path)
    {
        if (path is null || !File.Exists(path))
        {
            Console.WriteLine($"baselines: {(path is null ? "no --baselines given" : $"{path} not found")}; the PyTorch columns stay empty");
            return new Baselines(null);
        }
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return new Baselines(document.RootElement.Clone());
    }

    public string? Gpu => root is { } r && r.TryGetProperty("gpu", out var g) ? g.GetString() : null;

    /// <summary>PyTorch device-to-device copy, TB/s (bytes read + written).</summary>
    public double? CopyTbps => Number("copy", "tbps");

    /// <summary>torch.matmul bf16 for [m, k] × [k, n], TFLOP/s.</summary>
    public double? GemmTflops(int m, int n, int k) => Find("gemm_bf16", e => Int(e, "m") == m && Int(e, "n") == n && Int(e, "k") == k, "tflops");

    /// <summary>PyTorch gather + attention, ms.</summary>
    public double? SparseMlaDecodeMs(int batch) => Find("sparse_mla_decode", e => Int(e, "batch") == batch, "ms");

    public double? IndexerDecodeMs(int tokens) => Find("indexer_decode", e => Int(e, "tokens") == tokens, "ms");

    public double? IndexerPrefillMs => Number("indexer_prefill", "ms");

    public double? SparseMlaPrefillMs => Number("sparse_mla_prefill", "ms");

    private double? Number(string entry, string field)
        => root is { } r && r.TryGetProperty(entry, out var e) && e.TryGetProperty(field, out var v) ? v.GetDouble() : null;

    private double? Find(string entry, Func<JsonElement, bool> match, string field)
    {
        if (root is not { } r || !r.TryGetProperty(entry, out var list) || list.ValueKind != JsonValueKind.Array)
            return null;
        foreach (var e in list.EnumerateArray())
        {
            if (match(e) && e.TryGetProperty(field, out var v))
                return v.GetDouble();
        }
        return null;
    }

    private static int Int(JsonElement e, string field) => e.TryGetProperty(field, out var v) ? v.GetInt32() : -1;
}
