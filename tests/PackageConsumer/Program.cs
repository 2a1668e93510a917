using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;

// At run time: the launcher compiles and caches the variants per device, picks one by shape (and by the autotuner).
// "cpu" runs the generated CPU path; with no argument, the best device present (CUDA, then OpenCL, then the CPU).
using var device = args is ["cpu"] ? KernelDevice.Create(KernelBackend.FastCpu) : KernelDevice.CreateBest();
const int rows = 3, width = 4096;
float[] input = Enumerable.Range(0, rows * width).Select(i => (float)(i % 7)).ToArray();
using var x = device.Allocate<float>(input.Length);
using var y = device.Allocate<float>(input.Length);
x.CopyFromCPU(input);
ScaleKernels.LaunchScaleRows(device, x.View, y.View, rows, width, 2f);
device.Synchronize();
float[] output = y.GetAsArray1D();
bool correct = output.Select((value, i) => value == 2f * input[i]).All(ok => ok);
Console.WriteLine($"{device.Name}: scaled {rows}x{width} -> {(correct ? "OK" : "WRONG")}");
return correct ? 0 : 1;

public static partial class ScaleKernels
{
    // One group of blockSize threads per row; the generator writes a variant for blockSize 128 and 256,
    // each also specialized for rows of 4096 floats (plus a generic variant for any other width).
    [Kernel(Grid = "rows", GroupSize = "blockSize")]
    public static void ScaleRows(
        ArrayView<float> x,              // [rows, width]
        ArrayView<float> y,              // [rows, width]
        int rows,
        [Shape(4096)] int width,
        float factor,
        [Constant(128, 256)] int blockSize)
    {
        long row = Grid.IdxX;
        for (int i = Group.IdxX; i < width; i += blockSize)
        {
            y[row * width + i] = x[row * width + i] * factor;
        }
    }
}
