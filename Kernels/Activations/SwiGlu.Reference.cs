namespace KernelSharp.Kernels.Activations;

/// <summary>Reference of <see cref="SwiGluKernels"/>: silu(gate) · up with silu(g) = g / (1 + e^−g), float64.</summary>
public static class SwiGluReference
{
    public static double Silu(double g) => g / (1 + Math.Exp(-g));

    /// <summary>gate, up: [count] → [count].</summary>
    public static double[] Apply(float[] gate, float[] up)
    {
        var output = new double[gate.Length];
        for (int i = 0; i < gate.Length; i++)
        {
            output[i] = Silu(gate[i]) * up[i];
        }
        return output;
    }

    /// <summary>gateUp: [rows, 2·inner] (gate ‖ up per row, one GEMM with concatenated weights) → [rows, inner].</summary>
    public static double[] ApplyFused(float[] gateUp, int rows, int inner)
    {
        var output = new double[(long)rows * inner];
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < inner; i++)
            {
                output[(long)r * inner + i] = Silu(gateUp[(long)r * 2 * inner + i]) * gateUp[(long)r * 2 * inner + inner + i];
            }
        }
        return output;
    }
}
