using ILGPU;
using ILGPU.Runtime.Cuda;
using KernelSharp.Dsl;
using KernelSharp.Tools.MmaLoopBench;

// Tensor-core workbench (the same commands are in tools/gpu/KernelBench as `ptx` and `mma`). Verbs:
//   ptx <folder>     write the PTX of the mma loops, the mma tile and a reduction (no GPU needed) for ptxas -v / cuobjdump
//   bench            on CUDA: check one mma tile against float64 (fragments from global memory, and through
//                    cp.async + ldmatrix), then time the register-only mma loop variants
return args.FirstOrDefault() switch
{
    "ptx" when args.Length == 2 => MmaCommands.WritePtx(args[1]),
    "bench" => Bench(),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: MmaLoopBench ptx <folder> | MmaLoopBench bench");
    return 2;
}

static int Bench()
{
    using var context = Context.Create(builder => builder.Cuda());
    if (context.GetCudaDevices().Count == 0)
    {
        Console.Error.WriteLine("bench: no CUDA device found");
        return 1;
    }
    KernelSharpIntrinsics.Register(context);
    using var accelerator = context.CreateCudaAccelerator(0);
    var (tileOk, _) = MmaCommands.Bench(accelerator);
    return tileOk ? 0 : 1;
}
