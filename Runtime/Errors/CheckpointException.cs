namespace KernelSharp.Runtime;

/// <summary>A checkpoint folder or safetensors file that cannot be used: missing, truncated, corrupt or of the wrong shape.</summary>
public sealed class CheckpointException : UserInputException
{
    public CheckpointException(string message)
        : base(message)
    {
    }

    public CheckpointException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
