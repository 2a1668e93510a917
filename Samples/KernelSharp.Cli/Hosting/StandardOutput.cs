using System.Text;
using KernelSharp.Runtime;
using Microsoft.Win32.SafeHandles;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// The writer the verbs' results go to. .NET's console stream ignores EPIPE (a write to a pipe whose reader is gone
/// "succeeds"), so <c>generate ... | head -c 100</c> would go on generating for nobody until -n or the context ran out.
/// When stdout is a pipe or a socket the writer writes to file descriptor 1 itself, where a closed reader surfaces as
/// <see cref="OutputClosedException"/>; a terminal or a file keeps the console's writer (neither has a reader to lose,
/// and a file opened for appending or shared with other writers keeps its offset semantics).
/// </summary>
public static class StandardOutput
{
    private const int Descriptor = 1;

    public static TextWriter Open()
    {
        if (FileKinds.OfDescriptor(Descriptor) is not (FileKind.Pipe or FileKind.Socket))
        {
            return Console.Out;
        }

        var handle = new SafeFileHandle(Descriptor, ownsHandle: false);
        var pipe = new PipeOutputStream(new FileStream(handle, FileAccess.Write, bufferSize: 0));
        // Flushed after every write, as the console's writer is: text appears as it is produced, prompts before input.
        return new StreamWriter(pipe, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { AutoFlush = true };
    }
}
