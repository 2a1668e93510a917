namespace KernelSharp.Runtime.Tokenization;

/// <summary>A <c>tokenizer.json</c> or <c>tokenizer_config.json</c> that cannot be used: missing, not JSON, of an unsupported kind, or inconsistent.</summary>
public sealed class TokenizerException : UserInputException
{
    public TokenizerException(string message)
        : base(message)
    {
    }

    public TokenizerException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
