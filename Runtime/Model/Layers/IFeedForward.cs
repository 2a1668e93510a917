using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Model.Layers;

/// <summary>The second half of a block: the dense <see cref="Mlp"/> or the <see cref="Moe"/>.</summary>
internal interface IFeedForward
{
    /// <summary>normalized hidden states [T, H] → [T, H]</summary>
    Tensor Forward(Tensor x);
}
