using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace KernelSharp.Generators.Models;

/// <summary>A source location as plain data (a <see cref="Location"/> holds its syntax tree, which would defeat caching).</summary>
internal sealed record LocationInfo(string FilePath, int Start, int Length, int StartLine, int StartCharacter, int EndLine, int EndCharacter)
{
    public static LocationInfo? From(Location? location)
    {
        if (location is null || location.SourceTree is null)
            return null;
        var lines = location.GetLineSpan();
        return new LocationInfo(location.SourceTree.FilePath, location.SourceSpan.Start, location.SourceSpan.Length,
            lines.StartLinePosition.Line, lines.StartLinePosition.Character, lines.EndLinePosition.Line, lines.EndLinePosition.Character);
    }

    public static LocationInfo? From(SyntaxNode node) => From(node.GetLocation());

    /// <summary>
    /// The location of <paramref name="length"/> characters at <paramref name="offset"/> inside a kernel body whose text
    /// is <paramref name="bodyText"/> and whose own location is this one (used for diagnostics found after re-parsing the body).
    /// </summary>
    public LocationInfo InBody(string bodyText, int offset, int length)
    {
        int line = 0, lineStart = 0;
        for (int i = 0; i < offset && i < bodyText.Length; i++)
        {
            if (bodyText[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        int character = line == 0 ? StartCharacter + offset : offset - lineStart;
        return new LocationInfo(FilePath, Start + offset, length, StartLine + line, character, StartLine + line, character + length);
    }

    public Location ToLocation() =>
        Location.Create(FilePath, new TextSpan(Start, Length),
            new LinePositionSpan(new LinePosition(StartLine, StartCharacter), new LinePosition(EndLine, EndCharacter)));
}
