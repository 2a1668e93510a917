using System.CommandLine;

namespace KernelSharp.Cli.Parsing;

/// <summary>
/// The System.CommandLine commands built from the specs: one <see cref="Command"/> per <see cref="VerbSpec"/>, one option
/// per <see cref="OptionSpec"/> (<c>--long</c>, with <c>-s</c> as its alias). The specs stay the only declaration; this is
/// derived from them on every run, so the parser can never disagree with --help (which <see cref="HelpWriter"/> writes).
/// </summary>
public sealed class CommandTree
{
    private readonly Dictionary<Option, OptionSpec> _specs = [];

    private CommandTree(Command root) => Root = root;

    /// <summary>The root: "kernelsharp", the verbs as its subcommands.</summary>
    public Command Root { get; }

    /// <summary>A root that holds only <paramref name="verb"/>: all that parsing one verb's command line needs.</summary>
    public static CommandTree ForVerb(VerbSpec verb)
    {
        var tree = new CommandTree(new Command("kernelsharp"));
        tree.Root.Add(tree.Build(verb));
        return tree;
    }

    /// <summary>
    /// The whole program as a <see cref="RootCommand"/>, for the <c>[suggest]</c> completion directive. The library's
    /// default root options (its own --help with /? and -?, --version) are replaced by the two the program answers.
    /// </summary>
    public static CommandTree ForProgram(IReadOnlyList<VerbSpec> verbs)
    {
        var root = new RootCommand("Runs DeepSeek-V3.2 checkpoints with KernelSharp kernels on CUDA, OpenCL or the CPU.");
        if (root.Name != "kernelsharp")
        {
            root.Aliases.Add("kernelsharp");   // under a test host the executable is not kernelsharp; completion lines start with it
        }
        root.Options.Clear();
        root.Options.Add(new Option<bool>("--help", "-h") { Arity = ArgumentArity.Zero, Description = "show this help" });
        root.Options.Add(new Option<bool>("--version") { Arity = ArgumentArity.Zero, Description = "show the version" });
        var tree = new CommandTree(root);
        foreach (VerbSpec verb in verbs)
        {
            root.Add(tree.Build(verb));
        }
        return tree;
    }

    /// <summary>The spec an option of this tree was built from.</summary>
    public OptionSpec SpecOf(Option option) => _specs[option];

    /// <summary>The verb's subcommand.</summary>
    public Command CommandOf(VerbSpec verb)
        => Root.Subcommands.First(c => c.Name == verb.Name);

    private Command Build(VerbSpec verb)
    {
        var command = new Command(verb.Name, verb.Summary);
        foreach (OptionSpec spec in verb.AllOptions)
        {
            Option option = Build(spec);
            _specs.Add(option, spec);
            command.Add(option);
        }
        return command;
    }

    /// <summary>
    /// A flag takes no value (arity zero, so <c>--flag value</c> leaves "value" unmatched); a value option takes exactly one
    /// value per occurrence; a repeatable one collects one value per occurrence, never several after one name.
    /// </summary>
    private static Option Build(OptionSpec spec)
    {
        string[] aliases = spec.Short is null ? [] : ["-" + spec.Short];
        string name = "--" + spec.Long;
        if (spec.IsFlag)
        {
            return new Option<bool>(name, aliases) { Arity = ArgumentArity.Zero, Description = spec.Description };
        }
        if (spec.Repeatable)
        {
            return new Option<string[]>(name, aliases)
            {
                Arity = ArgumentArity.OneOrMore,
                AllowMultipleArgumentsPerToken = false,
                Description = spec.Description,
                HelpName = spec.ValueName,
            };
        }
        return new Option<string>(name, aliases) { Arity = ArgumentArity.ExactlyOne, Description = spec.Description, HelpName = spec.ValueName };
    }
}
