using System.Collections.Generic;
using KernelSharp.Generators.Models;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelSharp.Generators.Emitting;

// The pieces a kernel body is cut into by CpuPathPlan (loop fission at collectives).

/// <summary>A [Start, End) span of the kernel body text.</summary>
internal readonly struct TextSpanLike
{
    public TextSpanLike(int start, int end)
    {
        Start = start;
        End = end;
    }

    public int Start { get; }

    public int End { get; }
}

internal abstract class CpuItem
{
}

/// <summary>Statements run for every thread of the group, one thread after the other.</summary>
internal sealed class CpuThreadSegment : CpuItem
{
    public CpuThreadSegment(int region) => Region = region;

    public int Region { get; }

    public List<StatementSyntax> Statements { get; } = new();

    /// <summary>Collectives whose result this segment reads first.</summary>
    public List<CpuCollective> Prologues { get; } = new();

    /// <summary>Collectives whose argument this segment stores last.</summary>
    public List<CpuCollective> Gathers { get; } = new();
}

/// <summary>A statement run once per group: a const local or a shared-memory array (<see cref="Allocation"/> set).</summary>
internal sealed class CpuGroupStatement : CpuItem
{
    public CpuGroupStatement(StatementSyntax statement, BodySite? allocation)
    {
        Statement = statement;
        Allocation = allocation;
    }

    public StatementSyntax Statement { get; }

    public BodySite? Allocation { get; }
}

/// <summary>A <c>for</c> loop with group-uniform bounds whose body holds collectives: run once per group.</summary>
internal sealed class CpuGroupLoop : CpuItem
{
    public CpuGroupLoop(ForStatementSyntax loop, List<CpuItem> items)
    {
        Loop = loop;
        Items = items;
    }

    public ForStatementSyntax Loop { get; }

    public List<CpuItem> Items { get; }
}

/// <summary>A collective statement: <c>Barrier();</c>, <c>var x = Op(arg);</c> or <c>x = Op(arg);</c>.</summary>
internal sealed class CpuCollective : CpuItem
{
    public CpuCollective(int index, StatementSyntax statement, BodySite site, InvocationExpressionSyntax call, string scope, string argumentType, string resultType)
    {
        Index = index;
        Statement = statement;
        Site = site;
        Call = call;
        Scope = scope;
        ArgumentType = argumentType;
        ResultType = resultType;
    }

    public int Index { get; }

    public StatementSyntax Statement { get; }

    public BodySite Site { get; }

    public InvocationExpressionSyntax Call { get; }

    public string Scope { get; }

    public string ArgumentType { get; }

    public string ResultType { get; }

    public bool Uniform => Site.Flag;

    public string Combine => Site.Text;

    public ExpressionSyntax? Argument { get; init; }

    public VariableDeclaratorSyntax? DeclaredLocal { get; init; }

    public IdentifierNameSyntax? AssignedTarget { get; init; }

    public bool HasResult => ResultType != "void" && (DeclaredLocal != null || AssignedTarget != null);

    public int ArgumentRegion { get; set; }

    public bool OwnArgumentLoop { get; set; }

    public int ResultRegion { get; set; }

    public bool OwnResultLoop { get; set; }
}
