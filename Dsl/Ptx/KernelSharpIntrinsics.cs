using System.Reflection;
using ILGPU;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.IR;
using ILGPU.IR.Intrinsics;

namespace KernelSharp.Dsl;

/// <summary>
/// Registers KernelSharp's backend-specific intrinsics with an ILGPU context: for every <c>[IntrinsicImplementation]</c>
/// method of <see cref="TensorCore"/>, <see cref="KsWarp"/> and <see cref="Bf16"/>, what CUDA (PTX) and OpenCL compile in its place.
/// </summary>
public static class KernelSharpIntrinsics
{
    /// <summary>CUDA: single instructions written by <see cref="PtxTensorCoreHandlers"/>.</summary>
    private static readonly (Type Type, string Method, string Handler)[] PtxInstructions =
    [
        (typeof(TensorCore), nameof(TensorCore.MmaBf16), nameof(PtxTensorCoreHandlers.GenerateMmaBf16)),
        (typeof(TensorCore), nameof(TensorCore.LdMatrixX4Shared), nameof(PtxTensorCoreHandlers.GenerateLdMatrixX4)),
        (typeof(TensorCore), nameof(TensorCore.SharedAddressOf), nameof(PtxTensorCoreHandlers.GenerateSharedAddress)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsync16Shared), nameof(PtxTensorCoreHandlers.GenerateCopyAsync16)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsyncCommitGroup), nameof(PtxTensorCoreHandlers.GenerateCopyAsyncCommit)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsyncWait0), nameof(PtxTensorCoreHandlers.GenerateCopyAsyncWait0)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsyncWait1), nameof(PtxTensorCoreHandlers.GenerateCopyAsyncWait1)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsyncWait2), nameof(PtxTensorCoreHandlers.GenerateCopyAsyncWait2)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsyncWait3), nameof(PtxTensorCoreHandlers.GenerateCopyAsyncWait3)),
        (typeof(Bf16), nameof(Bf16.RoundPair), nameof(PtxTensorCoreHandlers.GenerateBf16RoundPair)),
    ];

    /// <summary>CUDA: methods replaced by C# versions (address arithmetic around the instructions, shuffle reductions).</summary>
    private static readonly (Type Type, string Method, Type Target, string TargetMethod)[] PtxRedirects =
    [
        (typeof(TensorCore), nameof(TensorCore.LdMatrixX4), typeof(PtxTensorCorePaths), nameof(PtxTensorCorePaths.LdMatrixX4)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsync16), typeof(PtxTensorCorePaths), nameof(PtxTensorCorePaths.CopyAsync16)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsyncCommit), typeof(PtxTensorCorePaths), nameof(PtxTensorCorePaths.CopyAsyncCommit)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsyncWait), typeof(PtxTensorCorePaths), nameof(PtxTensorCorePaths.CopyAsyncWait)),
        (typeof(TensorCore), nameof(TensorCore.SharedAddress), typeof(PtxTensorCorePaths), nameof(PtxTensorCorePaths.SharedAddress)),
        (typeof(KsWarp), nameof(KsWarp.WarpSum), typeof(WarpButterfly), nameof(WarpButterfly.Sum)),
        (typeof(KsWarp), nameof(KsWarp.WarpMax), typeof(WarpButterfly), nameof(WarpButterfly.Max)),
    ];

    /// <summary>OpenCL: shuffle-free versions (ILGPU emits OpenCL shuffles only for Intel devices).</summary>
    private static readonly (Type Type, string Method, Type Target, string TargetMethod)[] OpenCLRedirects =
    [
        (typeof(TensorCore), nameof(TensorCore.MmaBf16), typeof(SharedMemoryMma), nameof(SharedMemoryMma.MmaBf16)),
        (typeof(TensorCore), nameof(TensorCore.LdMatrixX4), typeof(PortableLdMatrix), nameof(PortableLdMatrix.LoadX4ThroughShared)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsync16), typeof(PortableCopy), nameof(PortableCopy.Copy16)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsyncCommit), typeof(PortableCopy), nameof(PortableCopy.Commit)),
        (typeof(TensorCore), nameof(TensorCore.CopyAsyncWait), typeof(PortableCopy), nameof(PortableCopy.Wait)),
        (typeof(TensorCore), nameof(TensorCore.SharedAddress), typeof(PortableCopy), nameof(PortableCopy.NoSharedAddress)),
        (typeof(KsWarp), nameof(KsWarp.WarpSum), typeof(SharedMemoryWarpReduce), nameof(SharedMemoryWarpReduce.Sum)),
        (typeof(KsWarp), nameof(KsWarp.WarpMax), typeof(SharedMemoryWarpReduce), nameof(SharedMemoryWarpReduce.Max)),
        (typeof(Bf16), nameof(Bf16.RoundPair), typeof(Bf16), nameof(Bf16.RoundPairPortable)),
    ];

    /// <summary>
    /// Call once per <see cref="Context"/> before compiling KernelSharp kernels for CUDA or OpenCL (kernels using
    /// <see cref="KsWarp"/>, <see cref="KsGroup"/> or <see cref="TensorCore"/>); without it ILGPU refuses to compile
    /// them with <c>NotSupportedIntrinsicException</c> naming the intrinsic. The ILGPU CPU accelerator runs the C#
    /// bodies and needs nothing. Calling it again on the same context is harmless: the later registration wins.
    /// </summary>
    public static void Register(Context context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var manager = context.GetIntrinsicManager();
        foreach (var (type, method, handler) in PtxInstructions)
            manager.RegisterMethod(Find(type, method), new PTXIntrinsic(typeof(PtxTensorCoreHandlers), handler, IntrinsicImplementationMode.GenerateCode));
        foreach (var (type, method, target, targetMethod) in PtxRedirects)
            manager.RegisterMethod(Find(type, method), new PTXIntrinsic(target, targetMethod, IntrinsicImplementationMode.Redirect));
        foreach (var (type, method, target, targetMethod) in OpenCLRedirects)
            manager.RegisterMethod(Find(type, method), new CLIntrinsic(target, targetMethod, IntrinsicImplementationMode.Redirect));
    }

    private static MethodInfo Find(Type type, string methodName)
        => type.GetMethod(methodName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
           ?? throw new InvalidOperationException($"{type.Name}.{methodName} not found");
}
