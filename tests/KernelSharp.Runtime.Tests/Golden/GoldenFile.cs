using Xunit;
using System.Runtime.InteropServices;
using KernelSharp.Runtime;

namespace KernelSharp.Runtime.Tests.Golden;

/// <summary>Reads a fixture's golden.safetensors (F32 and I32 tensors written by the Hugging Face reference).</summary>
public sealed class GoldenFile : IDisposable
{
    private readonly SafeTensorsFile file;

    public GoldenFile(string path) => file = SafeTensorsFile.Open(path);

    public bool Contains(string name) => file.Contains(name);

    public long[] Shape(string name) => file.GetInfo(name).Shape;

    public float[] Floats(string name)
    {
        var info = file.GetInfo(name);
        Assert.Equal(TensorDType.F32, info.DType);
        return MemoryMarshal.Cast<byte, float>(file.GetRawBytes(info)).ToArray();
    }

    public int[] Ints(string name)
    {
        var info = file.GetInfo(name);
        Assert.Equal(TensorDType.I32, info.DType);
        return MemoryMarshal.Cast<byte, int>(file.GetRawBytes(info)).ToArray();
    }

    public void Dispose() => file.Dispose();
}
