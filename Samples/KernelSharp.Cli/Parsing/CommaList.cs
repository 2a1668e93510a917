namespace KernelSharp.Cli.Parsing;

/// <summary>
/// The items of a comma-separated option value (<c>-b 1,8,64</c>, <c>--tokens 1,2,3</c>, <c>-d 0,4096</c>), trimmed.
/// An empty item (<c>1,,64</c>, a leading comma) is a usage error naming the option: it is most often a value lost while
/// editing, and dropping it silently would run something other than what was asked.
/// </summary>
public static class CommaList
{
    /// <summary>The items of <paramref name="text"/>; throws a <see cref="UsageException"/> naming <paramref name="optionName"/> at an empty one.</summary>
    /// <param name="endsWithListMarker">
    /// One trailing comma is allowed and ignored: for an option whose single number means something else than a list of
    /// one (<c>--gpus 5</c> is a count, <c>--gpus 5,</c> the GPU numbered 5).
    /// </param>
    public static string[] Split(string text, string optionName, bool endsWithListMarker = false)
    {
        string items = text.TrimEnd();
        if (endsWithListMarker && items.EndsWith(','))
        {
            items = items[..^1];
        }
        string[] parts = items.Split(',', StringSplitOptions.TrimEntries);
        int empty = Array.IndexOf(parts, string.Empty);
        if (empty >= 0)
        {
            throw new UsageException($"{optionName}: item {empty + 1} of '{text}' is empty; separate the values with single commas, e.g. 1,8,64");
        }
        return parts;
    }
}
