using ILGPU;

namespace KernelSharp.Kernels.TopK;

/// <summary>The bin a radix pass keeps and how many selected keys lie in the bins above it.</summary>
public struct RadixChoice
{
    public int Bin;
    public int Above;
}

/// <summary>
/// The bin choice of one radix-select pass, shared by the long-row top-k kernels (<see cref="TopKKernels.TopKRowPass"/>):
/// the same walk as <see cref="TopKKernels.TopKSelect"/>'s — from the largest bin down, stop at the first bin that
/// brings the count to <c>remaining</c> (or at bin 0) — done over 16 chunk sums first, so a thread reads at most
/// 32 shared entries instead of 256.
/// </summary>
public static class TopKRadixWalk
{
    /// <summary>Bins per chunk of the two-level walk.</summary>
    public const int ChunkBins = 16;

    /// <summary>Chunks of the 256-bin histogram.</summary>
    public const int Chunks = TopKKernels.RadixBins / ChunkBins;

    /// <summary>Sum of histogram bins [16·chunk, 16·chunk + 16).</summary>
    public static int ChunkSum(ArrayView<int> histogram, int chunk)
    {
        int total = 0;
        for (int bin = chunk * ChunkBins; bin < (chunk + 1) * ChunkBins; bin++)
            total += histogram[bin];
        return total;
    }

    /// <summary>
    /// histogram: [256] keys per bin; chunkSums: [16] from <see cref="ChunkSum"/>. Chunks whose whole sum keeps the
    /// running count below <paramref name="remaining"/> are passed over as a unit (the bin-by-bin walk would pass all
    /// their bins too), then the bins of the stopping chunk are walked one by one.
    /// </summary>
    public static RadixChoice Choose(ArrayView<int> histogram, ArrayView<int> chunkSums, int remaining)
    {
        int above = 0;
        int chunk = Chunks - 1;
        while (chunk > 0 && above + chunkSums[chunk] < remaining)
        {
            above += chunkSums[chunk];
            chunk--;
        }
        int bin = chunk * ChunkBins + ChunkBins - 1;
        while (bin > chunk * ChunkBins && above + histogram[bin] < remaining)
        {
            above += histogram[bin];
            bin--;
        }
        return new RadixChoice { Bin = bin, Above = above };
    }
}
