using KernelSharp.Cli.Parsing;
using KernelSharp.Cli.Verbs;
using KernelSharp.Runtime;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// Picks the verb, parses its options and turns every failure into an exit code and ONE line on stderr:
/// usage errors → 2, a user's bad input → 1 (message only), anything else → 1 (message; the stack with --verbose), and a
/// stdout whose reader has gone → 141 (silent unless --verbose).
/// </summary>
public static class CommandRunner
{
    public static int Run(IReadOnlyList<IVerb> verbs, IReadOnlyList<string> args, CliContext context)
    {
        IReadOnlyList<VerbSpec> specs = verbs.Select(v => v.Spec).ToArray();
        if (args.Count == 0)
        {
            context.Error.Write(HelpWriter.ForProgram(specs));
            return ExitCodes.UsageError;
        }
        if (args[0] is "--version" or "version")
        {
            context.Out.WriteLine(ToolVersion.Describe());
            return ExitCodes.Success;
        }
        if (args[0] is "--help" or "-h" or "help")
        {
            context.Out.Write(HelpWriter.ForProgram(specs));
            return ExitCodes.Success;
        }

        if (args[0].StartsWith("[suggest", StringComparison.Ordinal))
        {
            return Completions.Suggest(specs, args, context);
        }

        IVerb? verb = verbs.FirstOrDefault(v => v.Spec.Name == args[0]);
        if (verb is null)
        {
            return UsageError(context, $"unknown verb '{args[0]}'{Suggestions.DidYouMean(args[0], specs.Select(s => s.Name))}; valid verbs: {string.Join(", ", specs.Select(s => s.Name))}");
        }

        // Only among the options: after "--" these are text (a prompt), not a request for detail.
        IEnumerable<string> options = args.TakeWhile(arg => arg != ArgumentParser.EndOfOptions);
        bool verbose = options.Contains("--verbose") || options.Contains("-v");
        try
        {
            ParsedArguments parsed = ArgumentParser.Parse(verb.Spec, args.Skip(1).ToArray());
            if (parsed.Flag("help"))
            {
                context.Out.Write(HelpWriter.ForVerb(verb.Spec));
                return ExitCodes.Success;
            }
            return verb.Run(parsed, context);
        }
        catch (UsageException usage)
        {
            return UsageError(context, usage.Message);
        }
        catch (OutputClosedException closed)
        {
            if (verbose)
            {
                context.Error.WriteLine($"stopped: {closed.Message}");
            }
            return ExitCodes.OutputClosed;
        }
        catch (UserInputException userMistake)
        {
            context.Error.WriteLine($"error: {userMistake.Message}");
            if (verbose)
            {
                context.Error.WriteLine(userMistake.ToString());
            }
            return ExitCodes.RuntimeFailure;
        }
        catch (OperationCanceledException) when (context.Cancellation.IsCancellationRequested)
        {
            context.Error.WriteLine("interrupted");
            return ExitCodes.Interrupted;
        }
        catch (Exception failure) when (FailureAdvice.For(failure) is string advice)
        {
            context.Error.WriteLine($"error: {advice}");
            if (verbose)
            {
                context.Error.WriteLine(failure.ToString());
            }
            return ExitCodes.RuntimeFailure;
        }
        catch (Exception failure)
        {
            string oneLine = failure.Message.ReplaceLineEndings(" ").Trim();
            context.Error.WriteLine(verbose
                ? $"error: {failure.GetType().Name}: {oneLine}"
                : $"error: {failure.GetType().Name}: {oneLine} (run with --verbose for details)");
            if (verbose)
            {
                context.Error.WriteLine(failure.ToString());
            }
            return ExitCodes.RuntimeFailure;
        }
        finally
        {
            try
            {
                context.Out.Flush();
            }
            catch (OutputClosedException)
            {
                // What is left for stdout has no reader: the exit code above says so already.
            }
            context.Error.Flush();
        }
    }

    private static int UsageError(CliContext context, string message)
    {
        context.Error.WriteLine($"usage error: {message}");
        return ExitCodes.UsageError;
    }
}
