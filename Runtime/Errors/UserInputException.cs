namespace KernelSharp.Runtime;

/// <summary>
/// A mistake in what the user gave us (a file, a config, an argument), as opposed to a bug.
/// The message is one line naming the file (and tensor or key) and what was expected; the CLI prints only the message.
/// </summary>
public class UserInputException : Exception
{
    public UserInputException(string message)
        : base(OneLine(message))
    {
    }

    public UserInputException(string message, Exception? innerException)
        : base(OneLine(message), innerException)
    {
    }

    // A user sees only the message: keep it on one line even when it embeds text from a parser or the OS.
    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
