using System.CommandLine;
using KernelSharp.Cli.Hosting;

namespace KernelSharp.Cli.Parsing;

/// <summary>
/// Shell completion through System.CommandLine's <c>[suggest]</c> directive: <c>kernelsharp "[suggest:N]" "LINE"</c> prints
/// the verbs or options that complete the word at character N of LINE, one a line (the protocol that dotnet-suggest's
/// shell shims speak; the whole command line, with or without the leading "kernelsharp", is one argument).
/// </summary>
public static class Completions
{
    public static int Suggest(IReadOnlyList<VerbSpec> verbs, IReadOnlyList<string> args, CliContext context)
    {
        CommandTree tree = CommandTree.ForProgram(verbs);
        ParseResult result = tree.Root.Parse(args, ArgumentParser.Configuration());
        return result.Invoke(new InvocationConfiguration { Output = context.Out, Error = context.Error, EnableDefaultExceptionHandler = false });
    }
}
