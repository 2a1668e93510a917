using KernelSharp.Runtime.Model;
using KernelSharp.Runtime.Tests.Golden;
using Xunit;

namespace KernelSharp.Runtime.Tests.Model;

/// <summary>The memory estimate counts exactly the tensors inference loads.</summary>
public sealed class MemoryEstimateTests
{
    [Theory]
    [MemberData(nameof(Fixtures.Names), MemberType = typeof(Fixtures))]
    public void Fp32_weight_bytes_equal_four_bytes_per_element_of_every_non_mtp_tensor(string fixture)
    {
        var directory = Fixtures.Directory(fixture);
        var config = ModelConfig.Load(Path.Combine(directory, "config.json"));
        using var checkpoint = Checkpoint.Open(directory);
        var mtpPrefix = $"model.layers.{config.NumHiddenLayers}.";
        var elements = checkpoint.TensorNames
            .Where(n => !n.StartsWith(mtpPrefix, StringComparison.Ordinal) && !n.EndsWith("_scale_inv", StringComparison.Ordinal))
            .Sum(n => checkpoint.GetInfo(n).Shape.Aggregate(1L, (a, b) => a * b));

        var estimate = MemoryEstimate.For(config, WeightStorage.Float32, maxContext: 100);

        Assert.Equal(4 * elements, estimate.WeightBytes);
        Assert.Equal(100L * 4 * config.NumHiddenLayers * (config.KvLoraRank + config.QkRopeHeadDim + config.IndexHeadDim), estimate.CacheBytes);
    }

    [Fact]
    public void The_released_model_needs_terabytes_in_fp32_and_about_its_checkpoint_size_in_fp8()
    {
        var config = ModelPresets.Get("deepseek-v3.2");

        var fp32 = MemoryEstimate.For(config, WeightStorage.Float32, 4096);
        var fp8 = MemoryEstimate.For(config, WeightStorage.Fp8, 4096);

        // 671B parameters without the 14B MTP layer: ~2.6 TB as fp32; the FP8 checkpoint is ~690 GB with MTP.
        Assert.InRange(fp32.WeightBytes, 2.5e12, 2.75e12);
        Assert.InRange(fp8.WeightBytes, 6.0e11, 7.0e11);
        Assert.Equal("1.0 GiB", MemoryEstimate.Format(1L << 30));
    }

    [Theory]
    [InlineData(WeightStorage.BFloat16)]
    [InlineData(WeightStorage.Fp8)]
    public void A_backend_that_reads_the_embedding_as_stored_is_not_budgeted_for_fp32_rows(WeightStorage storage)
    {
        var config = ModelPresets.Get("deepseek-v3.2");
        var gpu = MemoryEstimate.For(config, storage, 4096, KvCacheFormat.Fp32, embeddingAsStored: false);
        var cpu = MemoryEstimate.For(config, storage, 4096, KvCacheFormat.Fp32, embeddingAsStored: true);

        // The head is bf16 either way; the embedding is fp32 rows on a GPU and its stored bf16 on the CPU: 2 bytes a value.
        Assert.Equal(2L * config.VocabSize * config.HiddenSize, gpu.WeightBytes - cpu.WeightBytes);
        Assert.Equal(gpu.CacheBytes, cpu.CacheBytes);
    }
}
