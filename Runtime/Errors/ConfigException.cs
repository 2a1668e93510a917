namespace KernelSharp.Runtime;

/// <summary>A <c>config.json</c> that is not JSON, lacks a key, has a value of the wrong type or is inconsistent.</summary>
public sealed class ConfigException : UserInputException
{
    public ConfigException(string message)
        : base(message)
    {
    }

    public ConfigException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
