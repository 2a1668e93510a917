namespace KernelSharp.Runtime.Tokenization.Patterns;

/// <summary>A pattern this engine cannot parse or does not support; the loader turns it into a message naming the file and field.</summary>
internal sealed class PatternSyntaxException(string message, int position) : Exception(message)
{
    /// <summary>Index (in UTF-16 units) into the pattern where the problem was found.</summary>
    public int Position { get; } = position;
}
