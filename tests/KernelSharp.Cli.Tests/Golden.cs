using System.Runtime.InteropServices;
using KernelSharp.Runtime;

namespace KernelSharp.Cli.Tests;

/// <summary>Reads tensors of a fixture's golden.safetensors (outputs of Hugging Face transformers) and of files the CLI wrote.</summary>
internal static class Golden
{
    public static float[] Floats(string file, string tensor, out long[] shape)
    {
        using SafeTensorsFile safetensors = SafeTensorsFile.Open(file);
        TensorInfo info = safetensors.GetInfo(tensor);
        Assert.Equal(TensorDType.F32, info.DType);
        shape = info.Shape;
        return MemoryMarshal.Cast<byte, float>(safetensors.GetRawBytes(info)).ToArray();
    }

    public static int[] Ints(string file, string tensor)
    {
        using SafeTensorsFile safetensors = SafeTensorsFile.Open(file);
        TensorInfo info = safetensors.GetInfo(tensor);
        Assert.Equal(TensorDType.I32, info.DType);
        return MemoryMarshal.Cast<byte, int>(safetensors.GetRawBytes(info)).ToArray();
    }

    /// <summary>‖ours − reference‖ / ‖reference‖ of each row; both [rows × vocab].</summary>
    public static double[] RowRelativeErrors(float[] ours, float[] reference, int vocab)
    {
        Assert.Equal(reference.Length, ours.Length);
        var errors = new double[reference.Length / vocab];
        for (int row = 0; row < errors.Length; row++)
        {
            double difference = 0, norm = 0;
            for (int i = row * vocab; i < (row + 1) * vocab; i++)
            {
                difference += (ours[i] - reference[i]) * (double)(ours[i] - reference[i]);
                norm += reference[i] * (double)reference[i];
            }
            errors[row] = Math.Sqrt(difference / norm);
        }
        return errors;
    }
}
