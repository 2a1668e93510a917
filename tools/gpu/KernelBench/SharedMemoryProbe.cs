using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace KernelSharp.Tools.KernelBench;

/// <summary>
/// The open question of the H200 speed work: can an ILGPU kernel get more than 48 KB of shared memory? Raises the kernel's dynamic
/// shared-memory limit with the driver's <c>cuFuncSetAttribute</c> on <see cref="CudaKernel.FunctionPtr"/>, then
/// launches with 96 KB of dynamic shared memory and checks that every byte was usable (each thread writes its slice,
/// a barrier, then group thread 0 sums the whole array). Prints each step's outcome; the last line starts with RESULT.
/// </summary>
public static class SharedMemoryProbe
{
    private const int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    private const int Bytes = 96 * 1024;
    private const int Ints = Bytes / sizeof(int);

    [DllImport("libcuda.so.1")]
    private static extern int cuFuncSetAttribute(IntPtr function, int attribute, int value);

    [DllImport("libcuda.so.1")]
    private static extern int cuFuncGetAttribute(out int value, int attribute, IntPtr function);

    public static int Run(Accelerator accelerator)
    {
        Console.WriteLine($"smem probe: device reports {accelerator.MaxSharedMemoryPerGroup} bytes of shared memory per group");
        var kernel = accelerator.LoadKernel(typeof(SharedMemoryProbe).GetMethod(nameof(SumDynamicShared), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!);
        if (kernel is not CudaKernel cuda)
        {
            Console.WriteLine($"RESULT smem_96k=unsupported (kernel type {kernel.GetType().Name}, CUDA only)");
            return 1;
        }
        int before = -1;
        int getStatus = cuFuncGetAttribute(out before, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, cuda.FunctionPtr);
        int setStatus = cuFuncSetAttribute(cuda.FunctionPtr, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, Bytes);
        int after = -1;
        cuFuncGetAttribute(out after, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, cuda.FunctionPtr);
        Console.WriteLine($"smem probe: cuFuncGetAttribute status {getStatus}, max dynamic before {before}; cuFuncSetAttribute({Bytes}) status {setStatus}; after {after}");

        using var sums = accelerator.Allocate1D<long>(4); // [groups]
        try
        {
            var config = new KernelConfig(new Index1D(4), new Index1D(256), SharedMemoryConfig.RequestDynamic<int>(Ints));
            kernel.Launch(accelerator.DefaultStream, config, sums.View.AsContiguous());
            accelerator.Synchronize();
        }
        catch (Exception e)
        {
            Console.WriteLine($"RESULT smem_96k=launch_failed ({e.GetType().Name}: {e.Message.Split('\n')[0]})");
            return 1;
        }
        long[] actual = sums.GetAsArray1D();
        bool ok = true;
        for (int g = 0; g < actual.Length; g++)
        {
            long expected = 0;
            for (int i = 0; i < Ints; i++)
                expected += i * 3L + g;
            ok &= actual[g] == expected;
            Console.WriteLine($"smem probe: group {g} sum {actual[g]}, expected {expected}");
        }
        Console.WriteLine($"RESULT smem_96k={(ok ? "works" : "wrong_result")}");
        return ok ? 0 : 1;
    }

    /// <summary>sums[group] = Σ_i (3i + group) over a 96 KB dynamic shared array written by the whole group.</summary>
    private static void SumDynamicShared(ArrayView<long> sums) // sums [groups]
    {
        var shared = SharedMemory.GetDynamic<int>(); // [Ints]
        for (int i = Group.IdxX; i < shared.Length; i += Group.DimX)
            shared[i] = i * 3 + Grid.IdxX;
        Group.Barrier();
        if (Group.IdxX == 0)
        {
            long total = 0;
            for (int i = 0; i < shared.Length; i++)
                total += shared[i];
            sums[Grid.IdxX] = total;
        }
    }
}
