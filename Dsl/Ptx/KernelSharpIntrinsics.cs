using System.Reflection;
using ILGPU;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.IR;
using ILGPU.IR.Intrinsics;

namespace KernelSharp.Dsl;

/// <summary>Registers KernelSharp's custom PTX intrinsics (the <see cref="TensorCore"/> instructions) with an ILGPU context.</summary>
public static class KernelSharpIntrinsics
{
    private static readonly (string Method, string Handler)[] PtxIntrinsics =
    [
        (nameof(TensorCore.MmaBf16), nameof(PtxTensorCoreHandlers.GenerateMmaBf16)),
        (nameof(TensorCore.LdMatrixX4Shared), nameof(PtxTensorCoreHandlers.GenerateLdMatrixX4)),
        (nameof(TensorCore.SharedAddressOf), nameof(PtxTensorCoreHandlers.GenerateSharedAddress)),
        (nameof(TensorCore.CopyAsync16Shared), nameof(PtxTensorCoreHandlers.GenerateCopyAsync16)),
        (nameof(TensorCore.CopyAsyncCommit), nameof(PtxTensorCoreHandlers.GenerateCopyAsyncCommit)),
        (nameof(TensorCore.CopyAsyncWait0), nameof(PtxTensorCoreHandlers.GenerateCopyAsyncWait0)),
        (nameof(TensorCore.CopyAsyncWait1), nameof(PtxTensorCoreHandlers.GenerateCopyAsyncWait1)),
        (nameof(TensorCore.CopyAsyncWait2), nameof(PtxTensorCoreHandlers.GenerateCopyAsyncWait2)),
        (nameof(TensorCore.CopyAsyncWait3), nameof(PtxTensorCoreHandlers.GenerateCopyAsyncWait3)),
    ];

    /// <summary>
    /// Call once per <see cref="Context"/> before compiling kernels that use <see cref="TensorCore"/>. Required on CUDA
    /// and OpenCL: ILGPU compiles an <c>[IntrinsicImplementation]</c> method without a registered implementation to an
    /// empty body, so <see cref="TensorCore.MmaBf16"/> would silently return zeros. (The CPU accelerator runs the C#
    /// bodies and needs nothing.) Calling it again on the same context is harmless: the later registration wins.
    /// </summary>
    public static void Register(Context context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var manager = context.GetIntrinsicManager();
        foreach (var (methodName, handlerName) in PtxIntrinsics)
        {
            MethodInfo method = typeof(TensorCore).GetMethod(methodName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                ?? throw new InvalidOperationException($"TensorCore.{methodName} not found");
            manager.RegisterMethod(
                method,
                new PTXIntrinsic(typeof(PtxTensorCoreHandlers), handlerName, IntrinsicImplementationMode.GenerateCode));
        }

        // OpenCL has no tensor-core instructions: the mma runs as its portable shuffle version. The other intrinsics
        // are only reached behind CudaAsm.IsSupported.
        manager.RegisterMethod(
            typeof(TensorCore).GetMethod(nameof(TensorCore.MmaBf16))!,
            new CLIntrinsic(typeof(PortableMma), nameof(PortableMma.MmaBf16), IntrinsicImplementationMode.Redirect));
    }
}
