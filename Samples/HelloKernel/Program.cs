// HelloKernel: a user kernel with two specialized block sizes, run on the best device present and checked against
// a plain CPU loop. Run: dotnet run --project Samples/HelloKernel -c Release
using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;

const int rows = 64, cols = 1000;
var random = new Random(42);
var x = new float[rows * cols];                              // [rows, cols]
for (int i = 0; i < x.Length; i++)
    x[i] = (float)random.NextDouble() * 2 - 1;

using var device = KernelDevice.CreateBest();
using var input = device.Allocate<float>(x.Length);          // [rows, cols]
using var sums = device.Allocate<float>(rows);               // [rows]
input.CopyFromCPU(x);

// The generated launcher picks blockSize (128 or 256) by timing both on first use, then reuses the choice.
HelloKernels.LaunchRowSumOfSquares(device, input.View, sums.View, rows, cols);
device.Synchronize();
var result = sums.GetAsArray1D();

double worst = 0;
for (int r = 0; r < rows; r++)
{
    double expected = 0;
    for (int c = 0; c < cols; c++)
        expected += (double)x[r * cols + c] * x[r * cols + c];
    worst = Math.Max(worst, Math.Abs(result[r] - expected) / Math.Max(1, Math.Abs(expected)));
}
Console.WriteLine($"device: {device.Name}");
Console.WriteLine($"variants: {string.Join(", ", HelloKernels.RowSumOfSquaresVariants.Select(v => v.Method))}");
Console.WriteLine($"row 0: {result[0]:F4}; largest relative error vs CPU: {worst:E2} -> {(worst < 1e-4 ? "OK" : "MISMATCH")}");
return worst < 1e-4 ? 0 : 1;

/// <summary>The user's kernels: a static partial class, one [Kernel] per operation.</summary>
public static partial class HelloKernels
{
    /// <summary>sums[r] = Σ_c x[r, c]², one group of blockSize threads per row. x: [rows, cols]; sums: [rows].</summary>
    [Kernel(Grid = "rows", GroupSize = "blockSize")]
    public static void RowSumOfSquares(ArrayView<float> x, ArrayView<float> sums, int rows, int cols, [Constant(128, 256)] int blockSize)
    {
        long rowStart = (long)Grid.IdxX * cols;
        float partial = 0f;
        for (int c = Group.IdxX; c < cols; c += blockSize)   // each thread strides over the row
            partial += x[rowStart + c] * x[rowStart + c];
        float total = KsGroup.Sum(partial);                   // every thread of the group gets the row total
        if (Group.IdxX == 0)
            sums[Grid.IdxX] = total;
    }
}
