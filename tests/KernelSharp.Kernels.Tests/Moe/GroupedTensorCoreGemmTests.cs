using KernelSharp.Kernels.Linear;
using KernelSharp.Kernels.Moe;
using KernelSharp.Kernels.Testing;
using KernelSharp.Kernels.Tests.Backends;
using Xunit;

namespace KernelSharp.Kernels.Tests.Moe;

/// <summary>
/// The grouped tensor-core expert GEMMs (bf16 and block-scaled fp8 stacks) on a tile table with every case a prompt
/// makes: an expert with more slots than one tile (two tiles, the second partial), experts without slots, a one-slot
/// expert, and unused table entries (−1) after the last tile; n and k with partial tiles and several k stages. Each
/// slot's row must equal the float64 product with its own expert's matrix, and be the very bits the dense tensor-core
/// GEMM gives on that expert's rows (the per-expert path it replaces). Output starts as NaN, so a slot no tile covers fails.
/// </summary>
public abstract class GroupedTensorCoreGemmTests(BackendFixture backend) : BackendTestBase(backend)
{
    /// <summary>Slots per expert, in expert order (slot order is expert by expert, as PermuteByExpert leaves it).</summary>
    private static readonly int[] SlotsPerExpert = [0, 130, 1, 0, 40];

    [SkippableTheory]
    [InlineData(136, 72)]  // two column tiles (the second partial), three k stages: cp.async path
    [InlineData(9, 19)]    // k not a multiple of 8: element loads with zero fill
    public void Bf16_slots_multiply_their_own_expert(int n, int k)
    {
        RequireBackend();
        var random = NewRandom(n * 31 + k);
        var (offsets, slots, slotExperts, first, end) = Table();
        int experts = SlotsPerExpert.Length;
        var (a, _) = RandomTensors.Bf16(random, (long)slots * k);
        var (weights, _) = RandomTensors.Bf16(random, (long)experts * n * k);

        using var av = Upload(a);
        using var wv = Upload(weights);
        using var ev = Upload(slotExperts);
        using var fv = Upload(first);
        using var endv = Upload(end);
        using var cv = Upload(Poison(slots * n));
        Launch(typeof(MoeKernels).GetMethod(nameof(MoeKernels.GroupedTensorCoreGemmBf16))!, Config(first.Length, (n + 127) / 128, 256),
            av.View, wv.View, ev.View, fv.View, endv.View, cv.View, first.Length, n, k);
        var actual = Download(cv, (long)slots * n);

        for (int e = 0; e < experts; e++)
        {
            int count = offsets[e + 1] - offsets[e];
            if (count == 0)
                continue;
            var rows = a[(offsets[e] * k)..(offsets[e + 1] * k)];
            var matrix = weights[(e * n * k)..((e + 1) * n * k)];
            var block = actual[(offsets[e] * n)..(offsets[e + 1] * n)];
            Tolerance.AssertClose(TensorCoreGemmReference.MultiplyBf16(rows, matrix, count, n, k), block, new Tolerance(1e-4, 2e-6 * k),
                $"expert {e}'s {count} slots");

            using var rowsView = Upload(rows);
            using var matrixView = Upload(matrix);
            using var dense = Upload(Poison(count * n));
            Launch(typeof(TensorCoreGemmKernels).GetMethod(nameof(TensorCoreGemmKernels.TensorCoreGemmBf16))!, Config((count + 127) / 128, (n + 127) / 128, 256),
                rowsView.View, matrixView.View, dense.View, count, n, k);
            Assert.Equal(Download(dense, (long)count * n), block);
        }
    }

    [SkippableTheory]
    [InlineData(200, 160)] // n crosses a 128-row scale block, k a 128-column one; 16-byte fp8 loads
    [InlineData(33, 45)]   // k not a multiple of 16: byte loads
    public void Fp8_slots_multiply_their_own_expert(int n, int k)
    {
        RequireBackend();
        var random = NewRandom(n * 37 + k);
        var (offsets, slots, slotExperts, first, end) = Table();
        int experts = SlotsPerExpert.Length;
        var (a, _) = RandomTensors.Bf16(random, (long)slots * k);
        var matrices = Enumerable.Range(0, experts).Select(_ => RandomTensors.Fp8BlockScaled(random, n, k)).ToArray();
        byte[] codes = matrices.SelectMany(m => m.Fp8).ToArray();          // [E, n, k]
        float[] scales = matrices.SelectMany(m => m.ScaleInv).ToArray();    // [E, ceil(n/128), ceil(k/128)]

        using var av = Upload(a);
        using var wv = Upload(codes);
        using var sv = Upload(scales);
        using var ev = Upload(slotExperts);
        using var fv = Upload(first);
        using var endv = Upload(end);
        using var cv = Upload(Poison(slots * n));
        Launch(typeof(MoeKernels).GetMethod(nameof(MoeKernels.GroupedTensorCoreGemmFp8))!, Config(first.Length, (n + 127) / 128, 256),
            av.View, wv.View, sv.View, ev.View, fv.View, endv.View, cv.View, first.Length, n, k);
        var actual = Download(cv, (long)slots * n);

        for (int e = 0; e < experts; e++)
        {
            int count = offsets[e + 1] - offsets[e];
            if (count == 0)
                continue;
            var rows = a[(offsets[e] * k)..(offsets[e + 1] * k)];
            var block = actual[(offsets[e] * n)..(offsets[e + 1] * n)];
            Tolerance.AssertClose(TensorCoreGemmReference.MultiplyFp8RoundedToBf16(rows, matrices[e].Fp8, matrices[e].ScaleInv, count, n, k), block,
                new Tolerance(1e-4, 2e-6 * k), $"expert {e}'s {count} slots");

            using var rowsView = Upload(rows);
            using var matrixView = Upload(matrices[e].Fp8);
            using var scaleView = Upload(matrices[e].ScaleInv);
            using var dense = Upload(Poison(count * n));
            Launch(typeof(TensorCoreGemmKernels).GetMethod(nameof(TensorCoreGemmKernels.TensorCoreGemmFp8))!, Config((count + 127) / 128, (n + 127) / 128, 256),
                rowsView.View, matrixView.View, scaleView.View, dense.View, count, n, k);
            Assert.Equal(Download(dense, (long)count * n), block);
        }
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
        int tile = MoeKernels.TensorCoreSlotsPerGroup;
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

public sealed class GroupedTensorCoreGemmTests_FastCpu(FastCpuBackend b) : GroupedTensorCoreGemmTests(b), IClassFixture<FastCpuBackend>;
public sealed class GroupedTensorCoreGemmTests_Cuda(CudaBackend b) : GroupedTensorCoreGemmTests(b), IClassFixture<CudaBackend>;
