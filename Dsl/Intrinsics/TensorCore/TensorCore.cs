using ILGPU;
using ILGPU.IR.Intrinsics;

namespace KernelSharp.Dsl;

/// <summary>
/// Ampere-style tensor-core operations (the newest ILGPU 1.5.3 targets: sm_80 PTX, also run by Hopper):
/// <c>mma.sync.m16n8k16</c> bf16 → fp32, <c>ldmatrix.x4</c>, <c>cp.async</c> and shared-memory addresses.
/// </summary>
/// <remarks>
/// Each operation is an <c>[IntrinsicImplementation]</c> whose code is chosen per backend by
/// <see cref="KernelSharpIntrinsics.Register"/> (required on CUDA and OpenCL; without it ILGPU refuses to compile the
/// kernel with <c>NotSupportedIntrinsicException</c>):
/// <list type="bullet">
/// <item>CUDA: one PTX instruction through a custom intrinsic, operands in registers (<c>CudaAsm</c> would spill them
/// to local memory and lose 20× in an mma loop).</item>
/// <item>OpenCL: portable versions that exchange fragments through shared memory (ILGPU emits OpenCL shuffles only
/// for Intel devices).</item>
/// <item>ILGPU CPU accelerator: the C# bodies below run (warp shuffles on 32-lane devices, shared memory otherwise).</item>
/// <item>Generated CPU path: the <c>...Combine</c> methods, given every lane's operands at once. The results are
/// per lane, so these collectives are marked <c>UniformResult = false</c>.</item>
/// </list>
/// All lanes of a warp call the warp-wide operations together, in groups whose size is a multiple of 32.
/// </remarks>
public static class TensorCore
{
    /// <summary>
    /// D = A·B + C for one 16×8×16 tile: A 16×16 bf16, B 16×8 bf16, C/D 16×8 fp32, spread over the warp as described
    /// on <see cref="MmaBf16Fragments"/> and <see cref="MmaAccumulator"/>. Products of bf16 are exact in fp32.
    /// </summary>
    [IntrinsicImplementation]
    [Collective(CollectiveScope.Warp, CpuCombine = nameof(MmaBf16Combine), UniformResult = false)]
    public static MmaAccumulator MmaBf16(MmaBf16Fragments fragments)
        => Warp.WarpSize == 32 ? PortableMma.MmaBf16(fragments) : SharedMemoryMma.MmaBf16(fragments);

    /// <summary>CPU path of <see cref="MmaBf16"/>: <paramref name="perLane"/> holds the 32 lanes' operands.</summary>
    public static MmaAccumulator MmaBf16Combine(ReadOnlySpan<MmaBf16Fragments> perLane, int lane)
        => MmaTile.LaneResult(perLane, lane);

    /// <summary>
    /// Loads four 8×8 bf16 matrices from shared memory (<c>ldmatrix.sync.aligned.m8n8.x4.shared.b16</c>): lane
    /// <c>8·i + r</c> passes in <paramref name="rowOffset"/> the element offset in <paramref name="tile"/> of row r of
    /// matrix i (8 contiguous bf16, 16-byte aligned). Every lane receives its fragments, see <see cref="MatrixFragmentX4"/>.
    /// </summary>
    [IntrinsicImplementation]
    [Collective(CollectiveScope.Warp, CpuCombine = nameof(LdMatrixX4Combine), UniformResult = false)]
    public static MatrixFragmentX4 LdMatrixX4(ArrayView<ushort> tile, int rowOffset)
        => Warp.WarpSize == 32 ? PortableLdMatrix.LoadX4(tile, rowOffset) : PortableLdMatrix.LoadX4ThroughShared(tile, rowOffset);

    /// <summary>CPU path of <see cref="LdMatrixX4"/>. Unlike other combines it also takes the warp-uniform tile view.</summary>
    public static MatrixFragmentX4 LdMatrixX4Combine(ArrayView<ushort> tile, ReadOnlySpan<int> rowOffsets, int lane)
        => PortableLdMatrix.LaneResult(HostSpan.Of(tile, 0, (int)tile.Length), rowOffsets, lane);

    /// <summary>
    /// Starts an asynchronous 16-byte copy (8 bf16) global → shared (<c>cp.async.cg.shared.global</c>); elsewhere a
    /// plain copy. Complete it with <see cref="CopyAsyncCommit"/>, <see cref="CopyAsyncWait"/> and a group barrier.
    /// Both elements must sit on 16-byte boundaries.
    /// </summary>
    [IntrinsicImplementation]
    public static void CopyAsync16(ArrayView<ushort> sharedTarget, int targetIndex, ArrayView<ushort> globalSource, long sourceIndex)
        => PortableCopy.Copy16(sharedTarget, targetIndex, globalSource, sourceIndex);

    /// <summary>Closes the current group of <see cref="CopyAsync16"/> copies (<c>cp.async.commit_group</c>); no-op elsewhere.</summary>
    [IntrinsicImplementation]
    public static void CopyAsyncCommit() => PortableCopy.Commit();

    /// <summary>Waits until at most <paramref name="pendingGroups"/> committed copy groups are still in flight
    /// (<c>cp.async.wait_group n</c>; pass a constant 0..3 so the choice folds away, larger values wait as for 3);
    /// no-op elsewhere.</summary>
    [IntrinsicImplementation]
    public static void CopyAsyncWait(int pendingGroups) => PortableCopy.Wait(pendingGroups);

    /// <summary>
    /// The 32-bit shared-window address of <c>view[index]</c> (what <c>ldmatrix</c>/<c>cp.async</c> take), made with
    /// <c>cvt.u32.u64</c> from ILGPU's shared-space pointer. Meaningful on CUDA only; 0 elsewhere.
    /// </summary>
    [IntrinsicImplementation]
    public static uint SharedAddress(ArrayView<ushort> view, int index) => PortableCopy.NoSharedAddress(view, index);

    // Single PTX instructions, reached only from PtxTensorCorePaths (CUDA); their bodies never run.

    [IntrinsicImplementation]
    internal static uint SharedAddressOf(ref ushort element) => 0;

    [IntrinsicImplementation]
    internal static MatrixFragmentX4 LdMatrixX4Shared(uint sharedAddress) => default;

    [IntrinsicImplementation]
    internal static void CopyAsync16Shared(ref ushort sharedTarget, ref ushort globalSource)
    {
    }

    [IntrinsicImplementation]
    internal static void CopyAsyncCommitGroup()
    {
    }

    [IntrinsicImplementation]
    internal static void CopyAsyncWait0()
    {
    }

    [IntrinsicImplementation]
    internal static void CopyAsyncWait1()
    {
    }

    [IntrinsicImplementation]
    internal static void CopyAsyncWait2()
    {
    }

    [IntrinsicImplementation]
    internal static void CopyAsyncWait3()
    {
    }
}
