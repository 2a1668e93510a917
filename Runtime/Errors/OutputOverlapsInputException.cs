namespace KernelSharp.Runtime;

/// <summary>An output path that resolves (through links) onto, into, or around a file the command reads.</summary>
public sealed class OutputOverlapsInputException(string output, string resolved, string input)
    : UserInputException($"{output}: resolves to {resolved}, which is or holds the input {input}; write the output somewhere else")
{
    public string Output { get; } = output;

    public string Resolved { get; } = resolved;

    public string Input { get; } = input;
}
