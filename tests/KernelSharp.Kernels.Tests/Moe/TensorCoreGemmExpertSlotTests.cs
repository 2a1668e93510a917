using ILGPU;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Moe;

/// <summary>
/// The tensor-core GEMM over routed-expert slots (<see cref="TensorCoreGemmKernels.TensorCoreGemm{TWeights, TItems}"/>
/// with <see cref="ExpertSlotItems"/>; bf16 and block-scaled fp8 stacks, both static group tiles) on a tile table with
/// every case a prompt makes: an expert with more slots than one tile (two tiles, the second partial), experts without
/// slots, a one-slot expert, and unused table entries (−1) after the last tile; n and k with partial tiles and several k stages. Each
/// slot's row must equal the float64 product with its own expert's matrix, and be the very bits the same kernel gives
/// when that expert's slots run alone (a slot's sums do not depend on the other experts in the launch). Output starts as
/// NaN, so a slot no tile covers fails.
/// </summary>
public abstract class TensorCoreGemmExpertSlotTests(BackendFixture backend) : BackendTestBase(backend)
{
    /// <summary>Slots per expert, in expert order (slot order is expert by expert, as PermuteByExpert leaves it).</summary>
    private static readonly int[] SlotsPerExpert = [0, 130, 1, 0, 40];

    [SkippableTheory]
    [InlineData(136, 72, 128, 3)]  // two column tiles (the second partial), three k stages: cp.async path
    [InlineData(136, 72, 256, 2)]  // one partial 256-wide column tile, two stages
    [InlineData(9, 19, 128, 3)]    // k not a multiple of 8: element loads with zero fill
    public void Bf16_slots_multiply_their_own_expert(int n, int k, int tileN, int stages)
    {
        RequireBackend();
        var random = NewRandom(n * 31 + k);
        int experts = SlotsPerExpert.Length;
        var (weights, _) = RandomTensors.Bf16(random, (long)experts * n * k);
        using var wv = Upload(weights);
        Check(random, new Bf16Rows(wv.View), n, k, tileN, stages,
            (rows, e, count) => TensorCoreGemmReference.MultiplyBf16(rows, weights[(e * n * k)..((e + 1) * n * k)], count, n, k));
    }

    [SkippableTheory]
    [InlineData(200, 160, 128, 3)] // n crosses a 128-row scale block, k a 128-column one; 16-byte fp8 loads
    [InlineData(200, 160, 256, 2)] // both row blocks of scales in one column tile
    [InlineData(33, 45, 128, 3)]   // k not a multiple of 16: byte loads
    public void Fp8_slots_multiply_their_own_expert(int n, int k, int tileN, int stages)
    {
        RequireBackend();
        var random = NewRandom(n * 37 + k);
        var matrices = Enumerable.Range(0, SlotsPerExpert.Length).Select(_ => RandomTensors.Fp8BlockScaled(random, n, k)).ToArray();
        using var wv = Upload(matrices.SelectMany(m => m.Fp8).ToArray());       // [E, n, k]
        using var sv = Upload(matrices.SelectMany(m => m.ScaleInv).ToArray());  // [E, ceil(n/128), ceil(k/128)]
        Check(random, new Fp8BlockRows(wv.View, sv.View), n, k, tileN, stages,
            (rows, e, count) => TensorCoreGemmReference.MultiplyFp8RoundedToBf16(rows, matrices[e].Fp8, matrices[e].ScaleInv, count, n, k));
    }

    /// <summary>
    /// Random bf16 slot rows through the grouped GEMM on the table of <see cref="SlotsPerExpert"/>; each expert's block
    /// against <paramref name="reference"/> (its rows, the expert, its slot count), then against the same kernel on a
    /// table holding that expert's slots alone, bit for bit.
    /// </summary>
    private void Check<TWeights>(Random random, TWeights weights, int n, int k, int tileN, int stages, Func<ushort[], int, int, double[]> reference)
        where TWeights : struct, ITensorCoreRows<TWeights>
    {
        var (offsets, slots, slotExperts, first, end) = Table();
        var (a, _) = RandomTensors.Bf16(random, (long)slots * k);
        using var av = Upload(a);
        var actual = Run(av.View, weights, slotExperts, first, end, slots, n, k, tileN, stages);

        for (int e = 0; e < SlotsPerExpert.Length; e++)
        {
            int count = offsets[e + 1] - offsets[e];
            if (count == 0)
                continue;
            var rows = a[(offsets[e] * k)..(offsets[e + 1] * k)];
            var block = actual[(offsets[e] * n)..(offsets[e + 1] * n)];
            Tolerance.AssertClose(reference(rows, e, count), block, new Tolerance(1e-4, 2e-6 * k), $"expert {e}'s {count} slots");

            using var alone = Upload(rows);
            int tiles = (count + TensorCoreGemmKernels.GroupRows - 1) / TensorCoreGemmKernels.GroupRows;
            var aloneFirst = Enumerable.Range(0, tiles).Select(t => t * TensorCoreGemmKernels.GroupRows).ToArray();
            var aloneEnd = aloneFirst.Select(f => Math.Min(count, f + TensorCoreGemmKernels.GroupRows)).ToArray();
            Assert.Equal(block, Run(alone.View, weights, Enumerable.Repeat(e, count).ToArray(), aloneFirst, aloneEnd, count, n, k, tileN, stages));
        }
    }

    private float[] Run<TWeights>(ArrayView<ushort> a, TWeights weights, int[] slotExperts, int[] first, int[] end, int slots, int n, int k, int tileN, int stages)
        where TWeights : struct, ITensorCoreRows<TWeights>
    {
        using var ev = Upload(slotExperts);
        using var fv = Upload(first);
        using var endv = Upload(end);
        using var cv = Upload(Poison(slots * n));
        Launch(typeof(TensorCoreGemmKernels).GetMethod(nameof(TensorCoreGemmKernels.TensorCoreGemm))!,
            Config(first.Length, (n + tileN - 1) / tileN, TensorCoreGemmWideTiles.Threads(tileN)),
            a, weights, ExpertSlotItems.OwnRows(fv.View, endv.View, ev.View), cv.View, first.Length, n, k, tileN, stages);
        return Download(cv, (long)slots * n);
    }

    /// <summary>
    /// The expert offsets of <see cref="SlotsPerExpert"/>, each slot's expert, and the tile table ExpertItemGroups makes
    /// for 128 slots a tile, sized for the worst case (ceil(slots / 128) + experts entries, −1 past the last tile).
    /// </summary>
    private static (int[] Offsets, int Slots, int[] SlotExperts, int[] First, int[] End) Table()
    {
        int experts = SlotsPerExpert.Length;
        var offsets = new int[experts + 1];
        for (int e = 0; e < experts; e++)
            offsets[e + 1] = offsets[e] + SlotsPerExpert[e];
        int slots = offsets[experts];
        var slotExperts = Enumerable.Range(0, experts).SelectMany(e => Enumerable.Repeat(e, SlotsPerExpert[e])).ToArray();
        int tile = TensorCoreGemmKernels.GroupRows;
        int groupCount = (slots + tile - 1) / tile + experts;
        var first = Enumerable.Repeat(-1, groupCount).ToArray();
        var end = Enumerable.Repeat(-1, groupCount).ToArray();
        int g = 0;
        for (int e = 0; e < experts; e++)
        {
            for (int start = offsets[e]; start < offsets[e + 1]; start += tile, g++)
            {
                first[g] = start;
                end[g] = Math.Min(offsets[e + 1], start + tile);
            }
        }

        Assert.Equal(4, g); // 2 tiles for expert 1, one each for experts 2 and 4: the rest of the table is unused
        return (offsets, slots, slotExperts, first, end);
    }

    private static float[] Poison(int count) => Enumerable.Repeat(float.NaN, Math.Max(1, count)).ToArray();
}

public sealed class TensorCoreGemmExpertSlotTests_FastCpu(FastCpuBackend b) : TensorCoreGemmExpertSlotTests(b), IClassFixture<FastCpuBackend>;
public sealed class TensorCoreGemmExpertSlotTests_Cuda(CudaBackend b) : TensorCoreGemmExpertSlotTests(b), IClassFixture<CudaBackend>;
