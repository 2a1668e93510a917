using KernelSharp.Dsl.Launch;
using KernelSharp.Runtime.Model.Backend;
using KernelSharp.Runtime.Tests.Reference;
using KernelSharp.Runtime.Model.Kernels;
using KernelSharp.Runtime.Tests.Model;
using Xunit;

namespace KernelSharp.Runtime.Tests.KernelModel;

/// <summary>
/// The kernel backend's MLA caches: AllocateLatentCache lays the latent c and k_pe side by side in one buffer the
/// attention kernels read in place (no per-call copy). Writing, reading back and attending through that layout must
/// give what separate caches give (the copying path, and the fp32 reference backend).
/// </summary>
[Collection(KernelBackendCollection.Name)]
public sealed class LatentCacheLayoutTests(KernelBackendFixture fixture)
{
    private readonly CpuBackend cpu = new();

    public static TheoryData<KernelBackend> Kinds => new() { KernelBackend.FastCpu, KernelBackend.IlgpuCpu };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Cache_windows_start_zeroed_and_keep_what_is_written(KernelBackend kind)
    {
        var random = new RandomData();
        var kernels = fixture.Get(kind);
        const int context = 11, latentDim = 12, ropeDim = 4;
        var latentRows = random.Floats(3 * 20); // [3, 20]: columns 5..16 go to the latent cache
        var ropeRows = random.Floats(3 * 20);   // [3, 20]: columns 16..19 go to the rope-key cache

        foreach (var backend in new IModelBackend[] { cpu, kernels })
        {
            var (latent, ropeKeys) = backend.AllocateLatentCache(context, latentDim, ropeDim);
            using (latent)
            using (ropeKeys)
            {
                Assert.Equal(new float[context * latentDim], backend.Download(latent));
                Assert.Equal(new float[context * ropeDim], backend.Download(ropeKeys));
                using var latentSource = backend.Upload(latentRows, 3, 20);
                using var ropeSource = backend.Upload(ropeRows, 3, 20);
                backend.WriteRows(latent, 7, latentSource, 0, 3, 5);
                backend.WriteRows(ropeKeys, 2, ropeSource, 1, 2, 16);

                var expectedLatent = new float[context * latentDim];
                var expectedRope = new float[context * ropeDim];
                for (var r = 0; r < 3; r++)
                {
                    Array.Copy(latentRows, r * 20 + 5, expectedLatent, (7 + r) * latentDim, latentDim);
                }

                for (var r = 0; r < 2; r++)
                {
                    Array.Copy(ropeRows, (1 + r) * 20 + 16, expectedRope, (2 + r) * ropeDim, ropeDim);
                }

                Assert.True(expectedLatent.SequenceEqual(backend.Download(latent)), $"{random}: {backend.Description} latent window");
                Assert.True(expectedRope.SequenceEqual(backend.Download(ropeKeys)), $"{random}: {backend.Description} rope window");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Attention_over_the_shared_layout_equals_attention_over_separate_caches(KernelBackend kind)
    {
        var random = new RandomData();
        var kernels = fixture.Get(kind);
        var dims = new MlaDimensions(Heads: 10, NopeDim: 8, RopeDim: 4, ValueDim: 12, LatentDim: 16);
        const int rows = 3, context = 20, k = 6;
        var q = random.Floats(rows * dims.Heads * dims.QueryHeadDim);                                 // [rows, heads·(nope+rope)]
        var kvB = random.Floats(dims.Heads * (dims.NopeDim + dims.ValueDim) * dims.LatentDim, 0.3f);  // [heads·(nope+v), latent]
        var latentValues = random.Floats(context * dims.LatentDim);                                   // [context, latent]
        var ropeValues = random.Floats(context * dims.RopeDim);                                       // [context, rope]
        var selected = Enumerable.Range(0, rows * k).Select(_ => random.Next(context + 1) - 1).ToArray(); // [rows, k]

        foreach (var sparse in new[] { false, true })
        {
            float[] Attend(IModelBackend b, Tensor latent, Tensor ropeKeys)
            {
                var segments = new[] { new AttentionSegment(0, rows, 12, latent, ropeKeys, b.Allocate(1, 1)) };
                using var query = b.Upload(q, rows, dims.Heads * dims.QueryHeadDim);
                using var projection = b.Upload(kvB, dims.Heads * (dims.NopeDim + dims.ValueDim), dims.LatentDim);
                using var keys = b.Upload(selected, rows, k);
                using var result = b.MlaAttention(query, projection, dims, 0.3f, segments, sparse ? keys : null);
                return b.Download(result);
            }

            var (sharedLatent, sharedRope) = kernels.AllocateLatentCache(context, dims.LatentDim, dims.RopeDim);
            using var latentSource = kernels.Upload(latentValues, context, dims.LatentDim);
            using var ropeSource = kernels.Upload(ropeValues, context, dims.RopeDim);
            kernels.WriteRows(sharedLatent, 0, latentSource, 0, context, 0);
            kernels.WriteRows(sharedRope, 0, ropeSource, 0, context, 0);
            Assert.True(KernelTensor.AreSideBySide((KernelTensor)sharedLatent, (KernelTensor)sharedRope), "AllocateLatentCache must give the in-place layout");

            var inPlace = Attend(kernels, sharedLatent, sharedRope);
            var copied = Attend(kernels, latentSource, ropeSource);
            var reference = Attend(cpu, cpu.Upload(latentValues, context, dims.LatentDim), cpu.Upload(ropeValues, context, dims.RopeDim));
            sharedLatent.Dispose();
            sharedRope.Dispose();

            Assert.True(copied.SequenceEqual(inPlace), $"{random}: {(sparse ? "sparse" : "dense")} attention differs between the in-place and the copied cache");
            for (var i = 0; i < reference.Length; i++)
            {
                Assert.True(Math.Abs(reference[i] - inPlace[i]) <= 2e-5 * Math.Max(1, Math.Abs(reference[i])), $"{random}: element {i} is {inPlace[i]}, reference {reference[i]}");
            }
        }
    }

    [Fact]
    public void A_window_has_no_contiguous_view()
    {
        var kernels = fixture.Get(KernelBackend.FastCpu);
        var (latent, ropeKeys) = kernels.AllocateLatentCache(4, 8, 4);
        using (latent)
        using (ropeKeys)
        {
            Assert.Throws<InvalidOperationException>(() => ((KernelTensor)latent).View);
        }
    }
}
