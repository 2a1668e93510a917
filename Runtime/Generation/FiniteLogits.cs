namespace KernelSharp.Runtime.Generation;

/// <summary>
/// The second line of defence behind the load-time weight checks: NaN logits sample as token 0 (often BOS) forever,
/// which looks like generation but is garbage. Every sampling loop (one sequence, the serving engine) stops the sequence
/// with an error naming the position instead.
/// </summary>
public static class FiniteLogits
{
    /// <summary>Throws <see cref="UserInputException"/> when <paramref name="logits"/> [vocab] holds a NaN or an infinity.</summary>
    /// <param name="position">The position whose next token the logits are for, named in the message.</param>
    public static void Require(ReadOnlySpan<float> logits, int position)
    {
        long bad = NonFiniteValues.FirstIndex(logits);
        if (bad >= 0)
        {
            throw new UserInputException(
                $"the model produced a non-finite logit ({logits[(int)bad]}) for token id {bad} at position {position}; " +
                "its weights are corrupt or numerically unstable, so generation was stopped");
        }
    }
}
