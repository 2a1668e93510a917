using System.Runtime.InteropServices;

namespace KernelSharp.Dsl;

/// <summary>Four consecutive floats moved as one 16-byte access (<see cref="KsVector.LoadFloat4"/>).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4, Size = 16)]
public struct Float4
{
    public float X;
    public float Y;
    public float Z;
    public float W;

    public Float4(float x, float y, float z, float w)
    {
        X = x;
        Y = y;
        Z = z;
        W = w;
    }

    /// <summary>X + Y + Z + W.</summary>
    public static float Sum(Float4 v) => v.X + v.Y + v.Z + v.W;

    /// <summary>Component-wise products summed. Static with by-value operands: in kernels an instance call would take
    /// the address of its receiver and ILGPU then reads the four fields one by one instead of one 16-byte load.</summary>
    public static float Dot(Float4 a, Float4 b) => a.X * b.X + a.Y * b.Y + a.Z * b.Z + a.W * b.W;

    public override readonly string ToString() => $"({X}, {Y}, {Z}, {W})";
}
