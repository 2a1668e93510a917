namespace KernelSharp.Runtime;

/// <summary>The element types this runtime reads from safetensors files (the format's spelling is the member name).</summary>
public enum TensorDType
{
    F32,
    F16,
    BF16,
    F8_E4M3,
    I32,
    I64,
}

/// <summary>Sizes and safetensors names of <see cref="TensorDType"/>.</summary>
public static class TensorDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeInBytes(this TensorDType dtype) => dtype switch
    {
        TensorDType.F32 or TensorDType.I32 => 4,
        TensorDType.F16 or TensorDType.BF16 => 2,
        TensorDType.F8_E4M3 => 1,
        TensorDType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The dtype string of a safetensors header ("BF16", "F8_E4M3", ...).</summary>
    public static string SafeTensorsName(this TensorDType dtype) => dtype.ToString();

    /// <summary>Parses a safetensors dtype string; false for a dtype this runtime does not read.</summary>
    public static bool TryParse(string name, out TensorDType dtype)
    {
        switch (name)
        {
            case "F32": dtype = TensorDType.F32; return true;
            case "F16": dtype = TensorDType.F16; return true;
            case "BF16": dtype = TensorDType.BF16; return true;
            case "F8_E4M3": dtype = TensorDType.F8_E4M3; return true;
            case "I32": dtype = TensorDType.I32; return true;
            case "I64": dtype = TensorDType.I64; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>True for the types <see cref="Checkpoint.ReadFloat32"/> converts.</summary>
    public static bool IsFloatingPoint(this TensorDType dtype) => dtype is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16 or TensorDType.F8_E4M3;
}
