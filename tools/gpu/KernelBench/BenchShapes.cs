namespace KernelSharp.Tools.KernelBench;

/// <summary>The shapes of the kernel rows: the H200 table's, and tiny ones for a CPU smoke run of the harness.</summary>
public sealed record BenchShapes(
    long CopyFloats,
    (int Rows, int Cols)[] Gemv,
    int[] GemvBatches,
    int[] IndexerDecodeTokens,
    int[] MlaDecodeBatches,
    int GemmM,
    (int N, int K)[] Gemm,
    int PrefillTokens)
{
    public static readonly BenchShapes H200 = new(
        CopyFloats: 1L << 28,                                             // 1 GiB
        Gemv: [(18432, 7168), (7168, 18432), (2048, 7168), (7168, 2048)], // dense MLP both ways, an expert both ways
        GemvBatches: [8, 64],
        IndexerDecodeTokens: [32 * 1024, 128 * 1024],
        MlaDecodeBatches: [1, 8, 32, 64],
        GemmM: 4096,
        Gemm: [(18432, 7168), (7168, 18432), (24576, 1536)],
        PrefillTokens: 8192);

    public static readonly BenchShapes Smoke = new(
        CopyFloats: 1L << 16,
        Gemv: [(200, 384)],
        GemvBatches: [3],
        IndexerDecodeTokens: [1024],
        MlaDecodeBatches: [1],
        GemmM: 136,
        Gemm: [(264, 160)],
        PrefillTokens: 16);
}
