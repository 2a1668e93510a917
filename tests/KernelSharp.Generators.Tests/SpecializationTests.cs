using KernelSharp.Generators.Parsing;
using KernelSharp.Generators.Specialization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Xunit;

namespace KernelSharp.Generators.Tests;

/// <summary>The pieces of specialization on their own: constant folding, loop unrolling, config values.</summary>
public sealed class SpecializationTests
{
    private static readonly Dictionary<string, long> Known = new() { ["blockSize"] = 128, ["Tile.Rows"] = 16 };

    [Theory]
    [InlineData("blockSize / 32", 4)]
    [InlineData("(blockSize + 31) >> 5", 4)]
    [InlineData("Tile.Rows * KsWarp.Size", 512)]
    [InlineData("blockSize > 64 ? 2 : 1", 2)]
    [InlineData("Math.Min(blockSize, 100)", 100)]
    [InlineData("(int)(blockSize % 48)", 32)]
    public void FoldsIntegerExpressions(string expression, long expected)
    {
        Assert.True(ConstantEvaluator.TryEvaluate(expression, Known, out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("n / 2")]
    [InlineData("blockSize / 0")]
    [InlineData("1.5f")]
    public void DoesNotFoldUnknownsOrErrors(string expression) =>
        Assert.False(ConstantEvaluator.TryEvaluate(expression, Known, out _));

    private static string Unroll(string body, int maxUnroll = 16) =>
        LoopUnroller.Unroll((BlockSyntax)SyntaxFactory.ParseStatement(body), Known, maxUnroll, out _).NormalizeWhitespace().ToFullString();

    [Fact]
    public void UnrollsHalvingLoopWithConstantIterations()
    {
        string text = Unroll("{ for (int s = blockSize / 2; s > 16; s /= 2) x[s] = s; }");
        Assert.Contains("const int s = 64;", text);
        Assert.Contains("const int s = 32;", text);
        Assert.DoesNotContain("for (", text);
    }

    [Fact]
    public void UnrollsNestedLoopsUsingTheOuterIndex()
    {
        string text = Unroll("{ for (int i = 0; i < 2; i++) for (int j = i; j < 2; j++) x[i * 2 + j] = 1; }");
        Assert.Equal(3, text.Split("const int j").Length - 1); // (0,0) (0,1) (1,1)
    }

    [Theory]
    [InlineData("{ for (int i = 0; i < n; i++) x[i] = 1; }")]                 // run-time bound
    [InlineData("{ for (int i = 0; i < 4; i++) { if (x[i] > 0) break; } }")]   // leaves early
    [InlineData("{ for (int i = 0; i < 4; i++) { i += x[i]; } }")]            // writes its index
    [InlineData("{ for (int i = 0; i < 64; i++) x[i] = 1; }")]                // over MaxUnroll
    public void KeepsLoopsThatCannotBeUnrolled(string body) =>
        Assert.Contains("for (", Unroll(body));

    [Fact]
    public void NeverReassignedLocalsCountAsConstants()
    {
        string text = Unroll("{ int warps = blockSize / 32; for (int w = 0; w < warps; w++) x[w] = 1; }");
        Assert.Contains("const int w = 3;", text);
    }

    [Fact]
    public void ReadsIntegerKeysAtAnyDepthFromConfigFiles()
    {
        var entries = ConfigFileParser.ParseText("""{ "hidden_size": 7168, "rope_scaling": { "factor": 40, "beta_fast": 32.5 }, "name": "x", "ids": [1, 2] }""");
        Assert.Contains(entries, e => e.Key == "hidden_size" && e.Value == 7168);
        Assert.Contains(entries, e => e.Key == "factor" && e.Value == 40);
        Assert.DoesNotContain(entries, e => e.Key == "beta_fast");
    }
}
