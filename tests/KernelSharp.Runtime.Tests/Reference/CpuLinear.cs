using System.Numerics.Tensors;

namespace KernelSharp.Runtime.Tests.Reference;

/// <summary>y = x · Wᵀ with W stored [out, in] as in the checkpoint: each output is one dot product of two contiguous rows.</summary>
internal static class CpuLinear
{
    /// <summary>Bytes of weight rows kept hot in the cache while a block of input rows passes over them.</summary>
    private const int WeightTileBytes = 512 * 1024;

    /// <summary>Input rows reused against each weight row while it is in L1.</summary>
    private const int RowTile = 8;

    /// <param name="x">[rows, inDim]</param>
    /// <param name="weight">[outDim, inDim] (only the first outDim rows of the array are read)</param>
    /// <returns>[rows, outDim]</returns>
    public static float[] Forward(ReadOnlyMemory<float> x, int rows, int inDim, float[] weight, int outDim)
    {
        var y = new float[rows * outDim];
        // Threads split the output features so each weight row is read by one thread (decode is bound by weight reads).
        // Within a thread, a tile of weight rows stays in cache while the input rows stream past it in blocks of
        // RowTile: without tiling, a long prefill re-reads the whole input from memory for every output feature.
        var outTile = Math.Clamp(WeightTileBytes / (4 * Math.Max(inDim, 1)), 4, 256);
        var tiles = (outDim + outTile - 1) / outTile;
        CpuParallel.For(tiles, (long)rows * inDim * outTile, (firstTile, endTile) =>
        {
            for (var tile = firstTile; tile < endTile; tile++)
            {
                var oStart = tile * outTile;
                var oEnd = Math.Min(outDim, oStart + outTile);
                for (var t0 = 0; t0 < rows; t0 += RowTile)
                {
                    var tEnd = Math.Min(rows, t0 + RowTile);
                    for (var o = oStart; o < oEnd; o++)
                    {
                        var w = weight.AsSpan(o * inDim, inDim);
                        for (var t = t0; t < tEnd; t++)
                        {
                            y[t * outDim + o] = TensorPrimitives.Dot(x.Span.Slice(t * inDim, inDim), w);
                        }
                    }
                }
            }
        });
        return y;
    }
}
