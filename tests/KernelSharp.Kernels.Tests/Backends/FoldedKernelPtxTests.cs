using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using KernelSharp.Dsl;
using Xunit;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// Folding the per-format kernel twins onto one format-generic kernel must not change what the GPU runs. Each row is a
/// variant of a folded kernel instantiated for one format, with the instruction signature (count and SHA-256 prefix of
/// its opcodes, <see cref="Signature"/>) that the twin it replaced compiled to on the commit before the fold (2ba0b2d; the
/// indexer scores: 16df4a0).
/// "In order": the same instructions in the same order, only names, parameter layout (one struct instead of separate
/// views) and register numbers differ. Otherwise the same instructions, as a multiset, that ILGPU scheduled in a
/// different order (an address computed a few instructions earlier or later).
/// </summary>
/// <remarks>
/// Not listed, because their code changed on purpose, each reviewed: the grouped expert FFN kernels now read rows as
/// 16-byte chunks like the GEMV (the bf16 twins read 8-element pieces through KsVector, the fp8 twins one byte at a
/// time: fewer, wider loads); GemmFp8 (group of 256) has the same instruction count, but its tile loader computes the
/// scale column per element instead of once per call; the embedding gathers through the format's element reader
/// (row · cols + col per element instead of one row start); AbsorbQuery(Rope) and UpProjectOutput compute the weight
/// row index in 32 bits and widen it once (3–4 fewer instructions each, the loops unchanged).
/// IndexerScoresWarpKeys&lt;F32Rows&gt; (1247 instructions; its twin IndexerScoresWarpKeys 1241, 7d4f03fd41635840 in order)
/// computes each key load's offset row·dim + col from the row in the loop (+4 cvt.s64.s32, +2 mul.lo.s64: the twin took
/// the row's offset once before the loop; loop-invariant register arithmetic, the loads and the math are the same).
/// IndexerScoresWarpKeys&lt;Fp8RowScaledRows&gt; (1438; its twin IndexerScoresFp8WarpKeys 1426, c620be1a40e24716 in order)
/// has the same 6 plus a word index (row·dim + col)/4 in 64 bits (+4 shr.s64, −3 shr.s32, −1 shl.b32) and the loaded
/// word carried to its decode as float bits (+8 mov.f32, −2 mov.b32: register moves); the loads, the e4m3 decode, its
/// order after the next word's load and the key scale folded into the ReLU once per key are the twin's.
/// <para>
/// MLA attention, folded a second time over its key source (<c>MlaAttention&lt;TCache, TKeys&gt;</c> replaced
/// <c>DenseMlaAttention</c>, <c>SparseMlaAttention</c> and <c>SparseMlaAttentionSplit</c>), was checked here at the
/// fold (commit 66e20ac) against the three twins' opcodes with a reviewed list of differences: one <c>cvta.to.global</c>
/// for the unused <c>partialStats</c> view, a key's list position added in 32 bits, and the sliced source's head block as
/// a <c>mul</c> and <c>sub</c> instead of a <c>rem</c>; the tile loop itself was unchanged. Those rows were retired when
/// the tile's accumulate step was rewritten for speed (its sums in registers per head instead of a shared-memory
/// read-modify-write per key and head; docs/perf/decode-step.md), which changes the loop on purpose.
/// </para>
/// <para>
/// The indexer scores rows (<c>IndexerScores&lt;F32Rows | Bf16Rows | Fp8RowScaledRows&gt;</c>, checked against their twins
/// at 16df4a0) were retired on 2026-12-05 when the kernels learned the paged cache (<c>KeyPages</c> replaced
/// <c>causalOffset</c>): each visible key's row now comes from <c>pages.CacheRow(s, t)</c>, a branch on the block size and,
/// for a paged cache, a division by it and a block-table load, +22 instructions in every variant (263, 228 and 115 instead
/// of 241, 206 and 93); the dot loops are unchanged. <c>IndexerScoresWarpKeys</c> above changed the same way: its two
/// keys' cache rows are looked up once per thread, before the dim loop (1295 and 1486 instructions instead of 1247 and 1438).
/// Since 2026-12-06 it takes each key's row as a one-row matrix (<c>keys.Matrix(row, 1, dim)</c>) before the dim loop, so
/// the loop's loads index by the column alone: the per-load row·dim (cvt.s64.s32, mul.lo.s64, add.s64) is gone, for e4m3
/// the word index is col/4 (one shr.s64), for fp32 a 32-bit widening multiply (1287 and 1476 instructions).
/// </para>
/// <para>
/// The warp-row GEMV rows (<c>GemvRows&lt;Bf16Rows | Fp8BlockRows&gt;</c>, 24 variants checked in order against
/// their twins at 2ba0b2d) were retired on 2026-12-06 when the kernel learned to walk a batch several items per weight
/// load (<c>itemsPerWarp</c>). Their one-item variants (<c>…_itemsPerWarp1</c>) were compared opcode by opcode with the
/// kernel before that change: outside the chunk loop +3 for the item clamp (setp, sub, selp), +9 for the store's item
/// (its row and item from the thread, the item-past-the-batch test, the shared-memory offset of the item's sums); inside
/// it the bf16 and f32 loops are unchanged but for up to three 64-bit address adds fewer, and the fp8 loop computes the
/// same instructions with each chunk's activation loads after its weight load instead of before (two address adds
/// fewer per chunk). Net: f32 +13–14, bf16 +8–11, fp8 −1 to +5 instructions per variant.
/// </para>
/// <para>
/// The tensor-core GEMMs: <c>TensorCoreGemm&lt;Bf16Rows | Fp8BlockRows, BatchItems | ExpertSlotItems&gt;</c> replaced
/// <c>TensorCoreGemmWideBf16</c>, <c>TensorCoreGemmWideFp8</c> and <c>GroupedTensorCoreGemmBf16/Fp8</c>, compared
/// opcode by opcode with them at dfcd0a5 (docs/perf/raw/2026-12-07-gemm-fold/ptx-opcodes.md): the six bf16 variants
/// over a prompt's rows have their twins' mma and ldmatrix and their loop, plus 1 to 17 instructions outside it (a
/// guard on the first prologue stage, which fp8 weights need; the group's row range and sub-views of A and C). The fp8
/// kernel, which had one variant (128×128, three stages), now has every tile and depth; its scales are loaded with the
/// codes, before the multiply, once per run set (the 128×256 tile spans two row blocks): 6 434 instructions against the
/// twin's 6 394 at 128×128, three stages. The expert-slot GEMM was a 64×32-warp kernel of 256 threads (2 026 / 2 826
/// instructions); it is now the same 64×64-warp kernel with the slots' row range (5 060 / 6 476 at 128×128, three
/// stages). These changed on purpose and are measured in the prefill rows and prompts
/// (docs/perf/tensor-core-gemm-fold.md), not listed here.
/// </para>
/// </remarks>
public sealed class FoldedKernelPtxTests
{
    public static TheoryData<string, string, string, string, bool, int, string> Folded => new()
    {
        // kernel class (under KernelSharp.Kernels), folded variant, format, the twin it replaced, in order?, instructions, SHA-256 prefix
        { "Linear.GemmKernels", "Gemm__groupSize1", "Bf16Rows", "GemmBf16__groupSize1", true, 188, "fae11dbe41212344" },
        { "Linear.GemmKernels", "Gemm__groupSize256", "Bf16Rows", "GemmBf16__groupSize256", true, 363, "d50e11d5c125dd25" },
        { "Linear.GemmKernels", "Gemm__groupSize1", "F32Rows", "GemmF32__groupSize1", true, 223, "b8f46cbe668f1be6" },
        { "Linear.GemmKernels", "Gemm__groupSize256", "F32Rows", "GemmF32__groupSize256", true, 360, "ca0413d5700d363e" },
        { "Linear.GemmKernels", "Gemm__groupSize1", "Fp8BlockRows", "GemmFp8__groupSize1", false, 606, "1837834de1d7aab5" },
        { "Linear.GemvKernels", "Gemv__groupSize1", "Bf16Rows", "GemvBf16__groupSize1", false, 237, "50b00ea2422d5936" },
        { "Linear.GemvKernels", "Gemv__groupSize128", "Bf16Rows", "GemvBf16__groupSize128", false, 238, "07d0dd98f64f62be" },
        { "Linear.GemvKernels", "Gemv__groupSize1", "F32Rows", "GemvF32__groupSize1", false, 272, "6724f15722bdf039" },
        { "Linear.GemvKernels", "Gemv__groupSize128", "F32Rows", "GemvF32__groupSize128", true, 203, "57c3de4f289d0d73" },
        { "Linear.GemvKernels", "Gemv__groupSize1", "Fp8BlockRows", "GemvFp8__groupSize1", true, 655, "bc5860801c14cba3" },
        { "Linear.GemvKernels", "Gemv__groupSize128", "Fp8BlockRows", "GemvFp8__groupSize128", true, 656, "bd38d8c5f8dc4e31" },
    };

    [Theory]
    [MemberData(nameof(Folded))]
    public void Folded_variant_compiles_to_the_instructions_of_the_twin_it_replaced(
        string kernels, string variant, string format, string replaced, bool inOrder, int instructions, string sha256Prefix)
    {
        var (count, hash) = Signature(PtxCompiler.Compile(Instance(kernels, variant, format)), inOrder);

        Assert.True(count == instructions && hash == sha256Prefix,
            $"{variant}<{format}> compiles to {count} instructions ({hash}); the {replaced} it replaced compiled to {instructions} ({sha256Prefix})");
    }

    /// <summary>The variant <c>KernelSharp.Kernels.{kernels}.{variant}</c> instantiated with the kernel library's public
    /// structs named in <paramref name="typeArguments"/> ("F32Rows", "Bf16Rows,DenseKeys").</summary>
    private static MethodInfo Instance(string kernels, string variant, string typeArguments)
    {
        var assembly = typeof(KernelSharp.Kernels.Formats.IRowFormat<>).Assembly;
        var kernelType = assembly.GetType($"KernelSharp.Kernels.{kernels}", throwOnError: true)!;
        var types = typeArguments.Split(',').Select(name => assembly.GetTypes().Single(t => t.IsValueType && t.IsPublic && t.Name == name)).ToArray();
        return kernelType.GetMethod(variant, BindingFlags.Public | BindingFlags.Static)!.MakeGenericMethod(types);
    }

    /// <summary>
    /// The opcodes of the entry's body (first token of each instruction line, a predicate guard included), leaving out
    /// declarations, parameter loads and labels, in order or sorted: (count, first 16 hex digits of their SHA-256).
    /// </summary>
    internal static (int Count, string Sha256Prefix) Signature(string ptx, bool inOrder) => Hash(Opcodes(ptx, numberPredicates: true), inOrder);

    /// <summary>The opcodes of <see cref="Signature"/>, in order; with <paramref name="numberPredicates"/> false a guard
    /// keeps its polarity but not its register (<c>@!%p12</c> → <c>@!%p</c>).</summary>
    private static List<string> Opcodes(string ptx, bool numberPredicates)
    {
        var opcodes = new List<string>();
        bool inBody = false;
        foreach (string line in ptx.Split('\n'))
        {
            string text = line.Trim();
            if (text == "{")
            {
                inBody = true;
                continue;
            }
            if (!inBody || text.Length == 0 || text == "}" || text.EndsWith(':')
                || text.StartsWith(".reg", StringComparison.Ordinal) || text.StartsWith(".param", StringComparison.Ordinal)
                || text.StartsWith("ld.param", StringComparison.Ordinal) || text.StartsWith(".shared", StringComparison.Ordinal)
                || text.StartsWith(".local", StringComparison.Ordinal))
                continue;
            string opcode = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0];
            opcodes.Add(numberPredicates || opcode[0] != '@' ? opcode : opcode.TrimEnd("0123456789".ToCharArray()));
        }
        return opcodes;
    }

    /// <summary>(count, first 16 hex digits of the SHA-256 of the opcodes, in order or sorted).</summary>
    private static (int Count, string Sha256Prefix) Hash(List<string> opcodes, bool inOrder)
    {
        var listed = new List<string>(opcodes);
        if (!inOrder)
            listed.Sort(StringComparer.Ordinal);
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', listed)));
        return (listed.Count, Convert.ToHexStringLower(hash)[..16]);
    }
}
