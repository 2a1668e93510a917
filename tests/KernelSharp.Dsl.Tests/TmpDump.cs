namespace KernelSharp.Dsl.Tests;
public class TmpDump { [Fact] public void Dump() => File.WriteAllText("/tmp/ks-intrinsics/scratch/RowDot.ptx", PtxCompiler.Compile(typeof(TensorCoreKernels).GetMethod("RowDot")!)); }
