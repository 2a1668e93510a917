using System;
using System.Text;
using Microsoft.CodeAnalysis;

namespace KernelSharp.Generators.Emitting;

/// <summary>An indenting text writer with '\n' line ends, so generated files are identical on every OS.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder text = new();
    private int depth;

    public void Line(string line = "")
    {
        if (line.Length > 0)
            text.Append(' ', depth * 4).Append(line);
        text.Append('\n');
    }

    /// <summary>Writes a multi-line block of code (e.g. a normalized statement) at the current indentation.</summary>
    public void Lines(string block)
    {
        foreach (var line in block.Replace("\r\n", "\n").Split('\n'))
            Line(line.TrimEnd());
    }

    /// <summary>Writes a syntax node normalized to four-space indentation.</summary>
    public void Node(SyntaxNode node) => Lines(node.NormalizeWhitespace("    ", "\n").ToFullString());

    public void Open(string line)
    {
        if (line.Length > 0)
            Line(line);
        Line("{");
        depth++;
    }

    public void Close(string suffix = "")
    {
        depth--;
        Line("}" + suffix);
    }

    public IDisposable Block(string line)
    {
        Open(line);
        return new Closer(this);
    }

    public override string ToString() => text.ToString();

    private sealed class Closer : IDisposable
    {
        private readonly CodeWriter writer;

        public Closer(CodeWriter writer) => this.writer = writer;

        public void Dispose() => writer.Close();
    }
}
