using System.Collections.Generic;
using System.Linq;
using KernelSharp.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelSharp.Generators.Emitting;

/// <summary>
/// Writes <c>NameCpu(...)</c>: the kernel run on host threads. Groups run in parallel (<c>CpuGrid.For</c>); inside
/// a group, each thread segment of the fissioned body (<see cref="CpuPathPlan"/>) runs for thread 0, 1, 2, ... in
/// turn, and collectives combine the gathered per-thread arguments with their <c>CpuCombine</c> method.
/// </summary>
internal static class CpuPathEmitter
{
    /// <summary>Writes the CPU path into <paramref name="writer"/>, or returns why it cannot (nothing written then).</summary>
    public static string? TryEmit(KernelModel kernel, CodeWriter writer)
    {
        if (kernel.HostGroup != null)
        {
            EmitHostGroupPath(kernel, writer);
            return null;
        }
        if (kernel.CpuBlocker != null)
            return kernel.CpuBlocker;
        var plan = CpuPathPlan.Build(kernel);
        if (plan.Failure != null)
            return plan.Failure;
        bool trackDone = plan.HasReturns && plan.Collectives.Count > 0;
        var body = new CodeWriter();
        string? failure = EmitItems(plan, plan.Prelude.Cast<CpuItem>().ToList(), body, trackDone) ?? EmitItems(plan, plan.Items, body, trackDone);
        if (failure != null)
            return failure;

        // A last guard: a CPU path that does not even parse is dropped (KS0009) rather than breaking the user's build.
        var syntaxErrors = SyntaxFactory.ParseStatement("{" + body + "}").GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (syntaxErrors.Count > 0)
            return "its CPU translation does not parse (" + syntaxErrors[0].GetMessage(System.Globalization.CultureInfo.InvariantCulture) + "); please report this generator bug";

        string parameters = string.Join(", ", kernel.Parameters.Select(p => p.TypeText + " " + p.Name));
        string arguments = string.Join(", ", kernel.Parameters.Select(p => p.Name));
        writer.Line($"/// <summary>");
        writer.Line($"/// The fast CPU path of <see cref=\"{kernel.Name}\"/>: groups run in parallel on host threads, the threads of a group one");
        writer.Line($"/// after the other, split at each collective ({plan.Collectives.Count} here). Views must be host memory (a CPU accelerator's buffers).");
        writer.Line($"/// </summary>");
        string generic = kernel.TypeParameterList;
        using (writer.Block($"public static void {kernel.Name}Cpu{generic}({parameters}){kernel.ConstraintClauses}"))
        {
            writer.Line($"int ks_gridDimX = checked((int)({kernel.GridX}));");
            writer.Line($"int ks_gridDimY = checked((int)({kernel.GridY}));");
            writer.Line($"int ks_groupDim = checked((int)({kernel.GroupSize}));");
            writer.Line($"global::KernelSharp.Dsl.Launch.CpuGrid.For(ks_gridDimX, ks_gridDimY, (ks_groupIdxX, ks_groupIdxY) =>");
            writer.Line($"    {kernel.Name}CpuGroup{generic}({arguments}{(arguments.Length > 0 ? ", " : "")}ks_groupIdxX, ks_groupIdxY, ks_gridDimX, ks_gridDimY, ks_groupDim));");
        }
        writer.Line();
        writer.Line($"/// <summary>One group of <see cref=\"{kernel.Name}Cpu\"/>.</summary>");
        using (writer.Block($"private static void {kernel.Name}CpuGroup{generic}({parameters}{(parameters.Length > 0 ? ", " : "")}int ks_groupIdxX, int ks_groupIdxY, int ks_gridDimX, int ks_gridDimY, int ks_groupDim){kernel.ConstraintClauses}"))
        {
            var state = new List<string>();
            int hoistedSlot = 0;
            foreach (int id in plan.Hoisted.OrderBy(i => i))
            {
                var local = kernel.Locals[id];
                state.Add($"{local.TypeText}[] {CpuSiteRewriter.HoistedName(local)} = {RentState(local.TypeText, hoistedSlot++, "ks_groupDim")};");
            }
            foreach (var collective in plan.Collectives.Where(c => c.Argument != null))
                state.Add($"{collective.ArgumentType}[] ks_arg{collective.Index} = {RentState(collective.ArgumentType, ArgumentSlot(plan, collective), "ks_groupDim")};");
            if (trackDone)
                state.Add($"bool[] ks_done = {RentState("bool", DoneSlot(plan), "ks_groupDim")};");
            if (state.Count > 0)
            {
                writer.Line("// Per-thread state: locals that live across a collective, collective arguments" + (trackDone ? ", threads that returned." : "."));
                foreach (var line in state)
                    writer.Line(line);
            }
            writer.Lines(body.ToString().TrimEnd('\n'));
        }
        writer.Line();
        EmitBoundsCheck(kernel, writer);
        return null;
    }

    /// <summary><c>NameCpu(...)</c> for a kernel with a host form: one call of <c>[Kernel(HostGroup = ...)]</c> per group.</summary>
    private static void EmitHostGroupPath(KernelModel kernel, CodeWriter writer)
    {
        string parameters = string.Join(", ", kernel.Parameters.Select(p => p.TypeText + " " + p.Name));
        string arguments = string.Join(", ", kernel.Parameters.Select(p => p.Name));
        string generic = kernel.TypeParameterList;
        writer.Line($"/// <summary>");
        writer.Line($"/// The fast CPU path of <see cref=\"{kernel.Name}\"/>: groups run in parallel on host threads, each one call of its host");
        writer.Line($"/// form <see cref=\"{kernel.HostGroup}\"/>. Views must be host memory (a CPU accelerator's buffers).");
        writer.Line($"/// </summary>");
        using (writer.Block($"public static void {kernel.Name}Cpu{generic}({parameters}){kernel.ConstraintClauses}"))
        {
            writer.Line($"int ks_gridDimX = checked((int)({kernel.GridX}));");
            writer.Line($"int ks_gridDimY = checked((int)({kernel.GridY}));");
            string separator = arguments.Length > 0 ? ", " : "";
            if (kernel.HostGroupSpanX == 1 && kernel.HostGroupSpanY == 1)
            {
                writer.Line($"global::KernelSharp.Dsl.Launch.CpuGrid.For(ks_gridDimX, ks_gridDimY, (ks_groupIdxX, ks_groupIdxY) =>");
                writer.Line($"    {kernel.HostGroup}{generic}({arguments}{separator}ks_groupIdxX, ks_groupIdxY));");
            }
            else
            {
                int x = kernel.HostGroupSpanX, y = kernel.HostGroupSpanY;
                writer.Line($"// One call of the host form per block of {x} × {y} groups, with the block's first group index.");
                writer.Line($"global::KernelSharp.Dsl.Launch.CpuGrid.For((int)(((long)ks_gridDimX + {x - 1}) / {x}), (int)(((long)ks_gridDimY + {y - 1}) / {y}), (ks_blockX, ks_blockY) =>");
                writer.Line($"    {kernel.HostGroup}{generic}({arguments}{separator}ks_blockX * {x}, ks_blockY * {y}));");
            }
        }
        writer.Line();
    }

    /// <summary>
    /// The index helper every view access of the CPU path goes through. In a Debug build of the kernel's project it
    /// throws <c>KernelIndexOutOfRangeException</c> naming the kernel, the view and the index (ILGPU's own check on a
    /// host view is an assertion that ends the process); in Release it returns the index and inlines away.
    /// </summary>
    private static void EmitBoundsCheck(KernelModel kernel, CodeWriter writer)
    {
        string name = CpuSiteRewriter.BoundsCheckName(kernel);
        string kernelName = SymbolDisplay.FormatLiteral(kernel.Name, quote: true);
        const string Inline = "[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]";
        writer.Line("#if DEBUG");
        foreach (var index in new[] { "int", "long" })
            writer.Line($"private static {index} {name}<T>(global::ILGPU.ArrayView<T> view, {index} index, string viewName) where T : unmanaged => global::KernelSharp.Dsl.Launch.CpuBounds.Check(view.Length, index, {kernelName}, viewName);");
        writer.Line("#else");
        foreach (var index in new[] { "int", "long" })
        {
            writer.Line(Inline);
            writer.Line($"private static {index} {name}<T>(global::ILGPU.ArrayView<T> view, {index} index, string viewName) where T : unmanaged => index;");
        }
        writer.Line("#endif");
    }

    /// <summary>
    /// A per-thread array of the group (cleared, reused by every group a host thread runs: <c>CpuGroupState</c>), so a
    /// group allocates nothing. Slots: hoisted locals first, then one per collective argument, the done flags, one per
    /// collective result; unique within the group's code, which is all <c>CpuGroupState</c> needs.
    /// </summary>
    private static string RentState(string elementType, int slot, string length) =>
        $"global::KernelSharp.Dsl.Launch.CpuGroupState<{elementType}>.Rent({slot.ToString(System.Globalization.CultureInfo.InvariantCulture)}, {length})";

    private static int ArgumentSlot(CpuPathPlan plan, CpuCollective collective) => plan.Hoisted.Count + collective.Index;

    private static int DoneSlot(CpuPathPlan plan) => plan.Hoisted.Count + plan.Collectives.Count;

    private static int ResultSlot(CpuPathPlan plan, CpuCollective collective) => DoneSlot(plan) + 1 + collective.Index;

    private static string? EmitItems(CpuPathPlan plan, List<CpuItem> items, CodeWriter writer, bool trackDone)
    {
        foreach (var item in items)
        {
            string? failure = item switch
            {
                CpuGroupStatement statement => EmitGroupStatement(plan, statement, writer),
                CpuThreadSegment segment => EmitSegment(plan, segment, writer, trackDone),
                CpuCollective collective => EmitCollective(plan, collective, writer, trackDone),
                CpuGroupLoop loop => EmitGroupLoop(plan, loop, writer, trackDone),
                _ => "unknown item",
            };
            if (failure != null)
                return failure;
        }
        return null;
    }

    private static string? EmitGroupStatement(CpuPathPlan plan, CpuGroupStatement item, CodeWriter writer)
    {
        var rewriter = new CpuSiteRewriter(plan, groupLevel: true, CpuPathPlan.GroupRegion, trackDone: false);
        if (item.Allocation is { } allocation)
        {
            // Shared memory: one array per group, visible to every thread segment.
            var declaration = (LocalDeclarationStatementSyntax)item.Statement;
            var call = (InvocationExpressionSyntax)declaration.Declaration.Variables[0].Initializer!.Value;
            var length = (ExpressionSyntax)rewriter.Visit(call.ArgumentList.Arguments[0].Expression)!;
            string site = plan.Kernel.FullName + "#" + allocation.Start.ToString(System.Globalization.CultureInfo.InvariantCulture);
            writer.Line($"// shared memory: a host buffer per host thread, reused by each group it runs");
            writer.Line($"var {declaration.Declaration.Variables[0].Identifier.Text} = global::KernelSharp.Dsl.Launch.CpuSharedMemory.Rent<{allocation.Text}>(\"{site}\", {length.NormalizeWhitespace().ToFullString()});");
            return rewriter.Failure;
        }
        writer.Node(rewriter.Visit(item.Statement)!);
        return rewriter.Failure;
    }

    private static string? EmitSegment(CpuPathPlan plan, CpuThreadSegment segment, CodeWriter writer, bool trackDone)
    {
        var rewriter = new CpuSiteRewriter(plan, groupLevel: false, segment.Region, trackDone);
        var statements = segment.Statements.Select(s => rewriter.Visit(s)!).ToList();
        if (rewriter.Failure != null)
            return rewriter.Failure;
        using (writer.Block("for (int ks_t = 0; ks_t < ks_groupDim; ks_t++)"))
        {
            if (trackDone)
                writer.Line("if (ks_done[ks_t]) continue;");
            foreach (var collective in segment.Prologues)
            {
                string? failure = EmitResult(plan, collective, writer);
                if (failure != null)
                    return failure;
            }
            foreach (var statement in statements)
                writer.Node(statement);
            foreach (var collective in segment.Gathers)
            {
                string? failure = EmitGather(plan, collective, writer, segment.Region);
                if (failure != null)
                    return failure;
            }
            if (rewriter.UsedEndLabel)
                writer.Line(CpuSiteRewriter.EndLabel(segment.Region) + ": ;");
        }
        return null;
    }

    private static string? EmitGather(CpuPathPlan plan, CpuCollective collective, CodeWriter writer, int region)
    {
        var rewriter = new CpuSiteRewriter(plan, groupLevel: false, region, trackDone: false);
        var argument = (ExpressionSyntax)rewriter.Visit(collective.Argument!)!;
        writer.Line($"ks_arg{collective.Index}[ks_t] = {argument.NormalizeWhitespace().ToFullString()};");
        return rewriter.Failure;
    }

    private static string? EmitCollective(CpuPathPlan plan, CpuCollective collective, CodeWriter writer, bool trackDone)
    {
        string what = collective.Call.Expression.ToString();
        writer.Line($"// collective: {what}({(collective.Argument == null ? "" : "…")}) — every thread of the {collective.Scope.ToLowerInvariant()} has reached this point");
        if (collective.OwnArgumentLoop && collective.Argument != null)
        {
            using (writer.Block("for (int ks_t = 0; ks_t < ks_groupDim; ks_t++)"))
            {
                if (trackDone)
                    writer.Line("if (ks_done[ks_t]) continue;");
                string? failure = EmitGather(plan, collective, writer, collective.ArgumentRegion);
                if (failure != null)
                    return failure;
            }
        }
        if (!collective.HasResult)
            return null;
        string span = $"new global::System.ReadOnlySpan<{collective.ArgumentType}>(ks_arg{collective.Index}, 0, ks_groupDim)";
        if (collective.Uniform && collective.Scope == "Group")
        {
            string value = $"{collective.Combine}({span}, 0)";
            if (collective.ResultRegion == CpuPathPlan.GroupRegion)
            {
                var local = plan.Kernel.Locals[plan.SiteAt(collective.DeclaredLocal!.Identifier.SpanStart, collective.DeclaredLocal.Identifier.Span.Length, SiteKind.LocalDeclarator)!.Number];
                writer.Line($"{local.TypeText} {local.Name} = {value};");
                return null;
            }
            writer.Line($"{collective.ResultType} ks_result{collective.Index} = {value};");
        }
        else if (collective.Uniform)
        {
            writer.Line($"{collective.ResultType}[] ks_result{collective.Index} = {RentState(collective.ResultType, ResultSlot(plan, collective), "(ks_groupDim + 31) / 32")};");
            using (writer.Block("for (int ks_w = 0; ks_w < (ks_groupDim + 31) / 32; ks_w++)"))
            {
                writer.Line($"ks_result{collective.Index}[ks_w] = {collective.Combine}(new global::System.ReadOnlySpan<{collective.ArgumentType}>(ks_arg{collective.Index}, ks_w * 32, global::System.Math.Min(32, ks_groupDim - ks_w * 32)), 0);");
            }
        }
        if (collective.OwnResultLoop)
        {
            using (writer.Block("for (int ks_t = 0; ks_t < ks_groupDim; ks_t++)"))
            {
                if (trackDone)
                    writer.Line("if (ks_done[ks_t]) continue;");
                return EmitResult(plan, collective, writer);
            }
        }
        return null;
    }

    /// <summary>The statement that hands a collective's result to the current thread.</summary>
    private static string? EmitResult(CpuPathPlan plan, CpuCollective collective, CodeWriter writer)
    {
        string value;
        if (collective.Uniform)
            value = collective.Scope == "Group" ? $"ks_result{collective.Index}" : $"ks_result{collective.Index}[ks_t >> 5]";
        else if (collective.Scope == "Group")
            value = $"{collective.Combine}(new global::System.ReadOnlySpan<{collective.ArgumentType}>(ks_arg{collective.Index}, 0, ks_groupDim), ks_t)";
        else
            value = $"{collective.Combine}(new global::System.ReadOnlySpan<{collective.ArgumentType}>(ks_arg{collective.Index}, ks_t & ~31, global::System.Math.Min(32, ks_groupDim - (ks_t & ~31))), ks_t & 31)";

        if (collective.DeclaredLocal != null)
        {
            var site = plan.SiteAt(collective.DeclaredLocal.Identifier.SpanStart, collective.DeclaredLocal.Identifier.Span.Length, SiteKind.LocalDeclarator);
            if (site == null)
                return "a collective's result local is not known";
            var local = plan.Kernel.Locals[site.Number];
            writer.Line(plan.Hoisted.Contains(local.Id)
                ? $"{CpuSiteRewriter.HoistedName(local)}[ks_t] = {value};"
                : $"{local.TypeText} {local.Name} = {value};");
            return null;
        }
        var rewriter = new CpuSiteRewriter(plan, groupLevel: false, collective.ResultRegion, trackDone: false);
        var target = (ExpressionSyntax)rewriter.Visit(collective.AssignedTarget!)!;
        writer.Line($"{target.NormalizeWhitespace().ToFullString()} = {value};");
        return rewriter.Failure;
    }

    private static string? EmitGroupLoop(CpuPathPlan plan, CpuGroupLoop item, CodeWriter writer, bool trackDone)
    {
        var rewriter = new CpuSiteRewriter(plan, groupLevel: true, CpuPathPlan.GroupRegion, trackDone: false);
        var loop = item.Loop;
        // Rewrite the header parts one by one: they are original nodes, so their spans still match the sites.
        var declaration = loop.Declaration == null ? null : (VariableDeclarationSyntax)rewriter.Visit(loop.Declaration)!;
        var initializers = loop.Initializers.Select(i => (ExpressionSyntax)rewriter.Visit(i)!);
        var condition = loop.Condition == null ? null : (ExpressionSyntax)rewriter.Visit(loop.Condition)!;
        var incrementors = loop.Incrementors.Select(i => (ExpressionSyntax)rewriter.Visit(i)!);
        var rebuilt = SyntaxFactory.ForStatement(declaration, SyntaxFactory.SeparatedList(initializers), condition,
            SyntaxFactory.SeparatedList(incrementors), SyntaxFactory.Block());
        if (rewriter.Failure != null)
            return rewriter.Failure;
        string text = rebuilt.NormalizeWhitespace("    ", "\n").ToFullString();
        string headerLine = text.Substring(0, text.IndexOf('\n') < 0 ? text.Length : text.IndexOf('\n')).TrimEnd();
        writer.Line("// group-uniform loop: every thread runs the same iterations, so the group runs it once");
        using (writer.Block(headerLine))
            return EmitItems(plan, item.Items, writer, trackDone);
    }
}
