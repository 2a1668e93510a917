using System.Runtime.InteropServices;
using KernelSharp.Runtime;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// Writes the <c>logits</c> verb's output: one F32 tensor <c>logits</c> [rows, vocab] in a safetensors file.
/// Written to a temporary sibling first and renamed, so a failure never leaves a half file under the user's name.
/// </summary>
public static class LogitsFile
{
    public const string TensorName = "logits";

    /// <param name="logits">[rows × vocab] row-major.</param>
    public static void Write(string path, float[] logits, int rows, int vocab)
    {
        string temporary = path + ".partial-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            using (var writer = new SafeTensorsWriter(temporary, [new SafeTensorsEntry(TensorName, TensorDType.F32, [rows, vocab])]))
            {
                // safetensors is little-endian; so is every platform .NET runs this tool on.
                writer.WriteTensor(TensorName, MemoryMarshal.AsBytes(logits.AsSpan()));
                writer.Complete();
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{path}: cannot write the logits file ({e.Message})", e);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }
}
