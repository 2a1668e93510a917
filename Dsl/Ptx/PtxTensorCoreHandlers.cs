using ILGPU;
using ILGPU.Backends.PTX;
using ILGPU.IR;
using ILGPU.IR.Types;
using ILGPU.Backends;
using CompoundRegister = ILGPU.Backends.RegisterAllocator<ILGPU.Backends.PTX.PTXRegisterKind>.CompoundRegister;
using ConstantRegister = ILGPU.Backends.RegisterAllocator<ILGPU.Backends.PTX.PTXRegisterKind>.ConstantRegister;
using HardwareRegister = ILGPU.Backends.RegisterAllocator<ILGPU.Backends.PTX.PTXRegisterKind>.HardwareRegister;
using PrimitiveRegister = ILGPU.Backends.RegisterAllocator<ILGPU.Backends.PTX.PTXRegisterKind>.PrimitiveRegister;

namespace KernelSharp.Dsl;

/// <summary>
/// PTX code generators for the <see cref="TensorCore"/> intrinsics. Each one loads the call's operands into
/// registers, allocates the result registers and writes one instruction, so nothing passes through <c>.local</c>
/// memory (which is what <c>CudaAsm.EmitRef</c> does and what costs 20× in an mma loop).
/// Signature fixed by ILGPU: <c>(PTXBackend, PTXCodeGenerator, Value)</c>, the value being the method call.
/// </summary>
internal static class PtxTensorCoreHandlers
{
    /// <summary>D = A·B + C: <c>mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {d0..d3}, {a0..a3}, {b0,b1}, {c0..c3}</c>.</summary>
    internal static void GenerateMmaBf16(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
    {
        var operands = (CompoundRegister)codeGenerator.Load(value[0]); // C0..C3, A0..A3, B0, B1
        var result = (CompoundRegister)codeGenerator.Allocate(value);   // D0..D3
        var temporaries = new List<HardwareRegister>();
        PrimitiveRegister[] c = InRegisters(codeGenerator, operands.SliceAs<PrimitiveRegister>(0, 4), temporaries);
        PrimitiveRegister[] a = InRegisters(codeGenerator, operands.SliceAs<PrimitiveRegister>(4, 4), temporaries);
        PrimitiveRegister[] b = InRegisters(codeGenerator, operands.SliceAs<PrimitiveRegister>(8, 2), temporaries);
        using (var command = codeGenerator.BeginCommand("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"))
        {
            command.AppendVectorArgument(result.SliceAs<PrimitiveRegister>(0, 4));
            command.AppendVectorArgument(a);
            command.AppendVectorArgument(b);
            command.AppendVectorArgument(c);
        }
        foreach (var temporary in temporaries)
            codeGenerator.FreeRegister(temporary);
    }

    /// <summary><c>ldmatrix.sync.aligned.m8n8.x4.shared.b16 {r0..r3}, [address]</c> with a 32-bit shared address.</summary>
    internal static void GenerateLdMatrixX4(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
    {
        var address = InRegister(codeGenerator, codeGenerator.LoadPrimitive(value[0]), out var temporary);
        var result = (CompoundRegister)codeGenerator.Allocate(value);
        using (var command = codeGenerator.BeginCommand("ldmatrix.sync.aligned.m8n8.x4.shared.b16"))
        {
            command.AppendVectorArgument(result.SliceAs<PrimitiveRegister>(0, 4));
            command.AppendArgumentValue(address);
        }
        if (temporary is not null)
            codeGenerator.FreeRegister(temporary);
    }

    /// <summary><c>cvt.u32.u64</c> of a shared-space pointer (preceded by <c>cvta.to.shared</c> only when ILGPU
    /// could not prove the pointer shared and kept it generic).</summary>
    internal static void GenerateSharedAddress(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
    {
        var target = codeGenerator.AllocateHardware(value);
        var shared = SharedWindowPointer(codeGenerator, value[0], out var temporary);
        using (var command = codeGenerator.BeginCommand("cvt.u32.u64"))
        {
            command.AppendArgument(target);
            command.AppendArgument(shared);
        }
        if (temporary is not null)
            codeGenerator.FreeRegister(temporary);
    }

    /// <summary><c>cp.async.cg.shared.global [shared32], [global], 16</c> (L2 only: the tile is used once per group).</summary>
    internal static void GenerateCopyAsync16(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
    {
        var shared = SharedWindowPointer(codeGenerator, value[0], out var temporary);
        var shared32 = codeGenerator.AllocateInt32Register();
        using (var convert = codeGenerator.BeginCommand("cvt.u32.u64"))
        {
            convert.AppendArgument(shared32);
            convert.AppendArgument(shared);
        }
        var global = codeGenerator.LoadHardware(value[1]);
        using (var command = codeGenerator.BeginCommand("cp.async.cg.shared.global"))
        {
            command.AppendArgumentValue(shared32);
            command.AppendArgumentValue(global);
            command.AppendConstant(16);
        }
        codeGenerator.FreeRegister(shared32);
        if (temporary is not null)
            codeGenerator.FreeRegister(temporary);
    }

    /// <summary><c>cvt.rn.bf16x2.f32 d, high, low</c>: PTX puts its first source in the upper half.</summary>
    internal static void GenerateBf16RoundPair(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
    {
        var low = InRegister(codeGenerator, codeGenerator.LoadPrimitive(value[0]), out var lowTemporary);
        var high = InRegister(codeGenerator, codeGenerator.LoadPrimitive(value[1]), out var highTemporary);
        var result = codeGenerator.AllocateHardware(value);
        using (var command = codeGenerator.BeginCommand("cvt.rn.bf16x2.f32"))
        {
            command.AppendArgument(result);
            command.AppendArgument(high);
            command.AppendArgument(low);
        }
        if (lowTemporary is not null)
            codeGenerator.FreeRegister(lowTemporary);
        if (highTemporary is not null)
            codeGenerator.FreeRegister(highTemporary);
    }

    internal static void GenerateCopyAsyncCommit(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
        => codeGenerator.Command("cp.async.commit_group");

    internal static void GenerateCopyAsyncWait0(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
        => codeGenerator.Command("cp.async.wait_group 0");

    internal static void GenerateCopyAsyncWait1(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
        => codeGenerator.Command("cp.async.wait_group 1");

    internal static void GenerateCopyAsyncWait2(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
        => codeGenerator.Command("cp.async.wait_group 2");

    internal static void GenerateCopyAsyncWait3(PTXBackend backend, PTXCodeGenerator codeGenerator, Value value)
        => codeGenerator.Command("cp.async.wait_group 3");

    /// <summary>A 64-bit register holding the shared-window address behind <paramref name="pointer"/>.</summary>
    private static HardwareRegister SharedWindowPointer(PTXCodeGenerator codeGenerator, Value pointer, out HardwareRegister? temporary)
    {
        var register = codeGenerator.LoadHardware(pointer);
        temporary = null;
        if (pointer.Type is PointerType { AddressSpace: MemoryAddressSpace.Shared })
            return register;
        temporary = codeGenerator.AllocatePlatformRegister(out _);
        using var command = codeGenerator.BeginCommand("cvta.to.shared.u64");
        command.AppendArgument(temporary);
        command.AppendArgument(register);
        return temporary;
    }

    /// <summary>mma/ldmatrix operands must be registers: constants (a zero accumulator) are moved into temporaries.</summary>
    private static PrimitiveRegister[] InRegisters(
        PTXCodeGenerator codeGenerator, PrimitiveRegister[] registers, List<HardwareRegister> temporaries)
    {
        var result = new PrimitiveRegister[registers.Length];
        for (int i = 0; i < registers.Length; i++)
        {
            result[i] = InRegister(codeGenerator, registers[i], out var temporary);
            if (temporary is not null)
                temporaries.Add(temporary);
        }
        return result;
    }

    private static HardwareRegister InRegister(PTXCodeGenerator codeGenerator, PrimitiveRegister register, out HardwareRegister? temporary)
    {
        temporary = null;
        if (register is HardwareRegister hardware)
            return hardware;
        var constant = (ConstantRegister)register;
        temporary = codeGenerator.AllocateRegister(constant.Description);
        using var command = codeGenerator.BeginCommand("mov");
        command.AppendRegisterMovementSuffix(constant.BasicValueType);
        command.AppendArgument(temporary);
        command.AppendArgument(constant);
        return temporary;
    }
}
