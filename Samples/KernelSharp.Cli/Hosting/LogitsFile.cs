using System.Runtime.InteropServices;
using KernelSharp.Runtime;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// Writes the <c>logits</c> verb's output: one F32 tensor <c>logits</c> [rows, vocab] in a safetensors file, through
/// <see cref="SafeOutputFile"/> (never onto the model's own files, never renaming over a pipe or a device, never a
/// half file under the user's name).
/// </summary>
public static class LogitsFile
{
    public const string TensorName = "logits";

    /// <param name="logits">[rows × vocab] row-major.</param>
    /// <param name="inputs">The files the command read, which the output must not land on.</param>
    /// <param name="replaceExisting">Whether an existing file at <paramref name="path"/> may be replaced (--force).</param>
    public static void Write(string path, float[] logits, int rows, int vocab, ProtectedInputs inputs, bool replaceExisting = false, CancellationToken cancellation = default)
    {
        SafeOutputFile.Write(path, "-o/--out", inputs, stream =>
        {
            using var writer = new SafeTensorsWriter(stream, path, [new SafeTensorsEntry(TensorName, TensorDType.F32, [rows, vocab])]);
            // safetensors is little-endian; so is every platform .NET runs this tool on.
            writer.WriteTensor(TensorName, MemoryMarshal.AsBytes(logits.AsSpan()));
            writer.Complete();
        }, cancellation, replaceExisting);
    }
}
