using ILGPU;
using ILGPU.IR.Intrinsics;
using ILGPU.Runtime.Cuda;

namespace KernelSharp.Dsl;

/// <summary>
/// Ampere-style tensor-core operations (the newest ILGPU 1.5.3 targets: sm_80 PTX, also run by Hopper):
/// <c>mma.sync.m16n8k16</c> bf16 → fp32, <c>ldmatrix.x4</c>, <c>cp.async</c> and shared-memory addresses.
/// </summary>
/// <remarks>
/// On CUDA the <c>[IntrinsicImplementation]</c> methods become single PTX instructions through custom intrinsics
/// registered by <see cref="KernelSharpIntrinsics.Register"/> (operands stay in registers; <c>CudaAsm</c> would
/// spill them to local memory). Elsewhere their C# bodies run: portable versions built from warp shuffles
/// and plain loads with the same results (the ILGPU CPU accelerator needs 32-lane warps, <c>CPUDevice.Nvidia</c>-like).
/// The generated CPU path uses the <c>...Combine</c> methods: every lane's operands at once.
/// All lanes of the warp must call the warp-wide operations together, with a group size that is a multiple of 32.
/// </remarks>
public static partial class TensorCore
{
    /// <summary>
    /// D = A·B + C for one 16×8×16 tile: A 16×16 bf16, B 16×8 bf16, C/D 16×8 fp32, spread over the warp as described
    /// on <see cref="MmaBf16Fragments"/> and <see cref="MmaAccumulator"/>. Products of bf16 are exact in fp32.
    /// </summary>
    [IntrinsicImplementation]
    [Collective(CollectiveScope.Warp, CpuCombine = nameof(MmaBf16Combine), UniformResult = false)]
    public static MmaAccumulator MmaBf16(MmaBf16Fragments fragments) => PortableMma.MmaBf16(fragments);

    /// <summary>CPU path of <see cref="MmaBf16"/>: <paramref name="perLane"/> holds the 32 lanes' operands.</summary>
    public static MmaAccumulator MmaBf16Combine(ReadOnlySpan<MmaBf16Fragments> perLane, int lane)
        => MmaTile.LaneResult(perLane, lane);

    /// <summary>
    /// Loads four 8×8 bf16 matrices from shared memory (<c>ldmatrix.sync.aligned.m8n8.x4.shared.b16</c>): lane
    /// <c>8·i + r</c> passes in <paramref name="rowOffset"/> the element offset in <paramref name="tile"/> of row r of
    /// matrix i (8 contiguous bf16, 16-byte aligned). Every lane receives its fragments, see <see cref="MatrixFragmentX4"/>.
    /// </summary>
    [Collective(CollectiveScope.Warp, CpuCombine = nameof(LdMatrixX4Combine), UniformResult = false)]
    public static MatrixFragmentX4 LdMatrixX4(ArrayView<ushort> tile, int rowOffset)
    {
        if (CudaAsm.IsSupported)
            return LdMatrixX4Shared(SharedAddress(tile, rowOffset));
        return PortableLdMatrix.LoadX4(tile, rowOffset);
    }

    /// <summary>CPU path of <see cref="LdMatrixX4"/>. Unlike other combines it also takes the warp-uniform tile view.</summary>
    public static MatrixFragmentX4 LdMatrixX4Combine(ArrayView<ushort> tile, ReadOnlySpan<int> rowOffsets, int lane)
        => PortableLdMatrix.LaneResult(HostSpan.Of(tile, 0, (int)tile.Length), rowOffsets, lane);

    /// <summary>
    /// Starts an asynchronous 16-byte copy (8 bf16) global → shared (<c>cp.async.cg.shared.global</c>), or copies
    /// synchronously where cp.async does not exist. Complete it with <see cref="CopyAsyncCommit"/>,
    /// <see cref="CopyAsyncWait"/> and then a group barrier. Both offsets must be 16-byte aligned.
    /// </summary>
    public static void CopyAsync16(ArrayView<ushort> sharedTarget, int targetIndex, ArrayView<ushort> globalSource, long sourceIndex)
    {
        if (CudaAsm.IsSupported)
        {
            CopyAsync16Shared(ref sharedTarget[targetIndex], ref globalSource[sourceIndex]);
            return;
        }
        for (int i = 0; i < 8; i++)
            sharedTarget[targetIndex + i] = globalSource[sourceIndex + i];
    }

    /// <summary>Closes the current group of <see cref="CopyAsync16"/> copies (<c>cp.async.commit_group</c>); no-op elsewhere.</summary>
    [IntrinsicImplementation]
    public static void CopyAsyncCommit()
    {
    }

    /// <summary>Waits until at most <paramref name="pendingGroups"/> committed copy groups are still in flight
    /// (<c>cp.async.wait_group</c>; the argument must be a compile-time constant 0..7); no-op elsewhere.</summary>
    public static void CopyAsyncWait(int pendingGroups)
    {
        if (CudaAsm.IsSupported)
        {
            // wait_group needs an immediate operand: one intrinsic per count keeps it a constant in the PTX.
            switch (pendingGroups)
            {
                case 0: CopyAsyncWait0(); break;
                case 1: CopyAsyncWait1(); break;
                case 2: CopyAsyncWait2(); break;
                default: CopyAsyncWait3(); break;
            }
        }
    }

    /// <summary>
    /// The 32-bit shared-window address of <c>view[index]</c> (what <c>ldmatrix</c>/<c>cp.async</c> take), made with
    /// <c>cvt.u32.u64</c> from ILGPU's shared-space pointer. Meaningful on CUDA only; 0 elsewhere.
    /// </summary>
    public static uint SharedAddress(ArrayView<ushort> view, int index) => SharedAddressOf(ref view[index]);

    [IntrinsicImplementation]
    internal static uint SharedAddressOf(ref ushort element) => 0;

    [IntrinsicImplementation]
    internal static MatrixFragmentX4 LdMatrixX4Shared(uint sharedAddress) => default;

    [IntrinsicImplementation]
    internal static void CopyAsync16Shared(ref ushort sharedTarget, ref ushort globalSource)
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
