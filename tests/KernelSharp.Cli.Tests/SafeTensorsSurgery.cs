using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace KernelSharp.Cli.Tests;

/// <summary>Edits the JSON header of a safetensors file in place (data section untouched), to build broken checkpoints.</summary>
internal static class SafeTensorsSurgery
{
    public static void EditHeader(string path, Action<JsonObject> edit)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength))!.AsObject();
        edit(header);
        byte[] newHeader = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var output = new FileStream(path, FileMode.Create);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)newHeader.Length);
        output.Write(length);
        output.Write(newHeader);
        output.Write(bytes, 8 + headerLength, bytes.Length - 8 - headerLength);
    }

    /// <summary>The first tensor (by data offset) whose shape has two different dimensions.</summary>
    public static string FirstRectangularTensor(JsonObject header)
        => header.Where(p => p.Key != "__metadata__")
            .Select(p => (p.Key, Shape: p.Value!["shape"]!.AsArray().Select(d => (long)d!).ToArray(), Begin: (long)p.Value!["data_offsets"]![0]!))
            .Where(t => t.Shape.Length == 2 && t.Shape[0] != t.Shape[1] && t.Key.Contains("proj"))
            .OrderBy(t => t.Begin)
            .First().Key;
}
