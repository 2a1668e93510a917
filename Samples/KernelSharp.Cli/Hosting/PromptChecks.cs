using KernelSharp.Cli.Parsing;

namespace KernelSharp.Cli.Hosting;

/// <summary>Checks on a tokenized prompt that are the user's to fix (exit code 2).</summary>
public static class PromptChecks
{
    public static void EnsureFits(int promptTokens, int contextSize, int modelMaxContext)
    {
        if (promptTokens == 0)
        {
            throw new UsageException("the prompt has no tokens");
        }
        if (promptTokens > contextSize)
        {
            throw new UsageException(
                $"the prompt is {promptTokens} tokens but the context (-c) holds {contextSize}; " +
                $"give a prompt of at most {contextSize} tokens or -c up to {modelMaxContext}");
        }
    }
}
