using KernelSharp.Runtime.Model.Backend;

namespace KernelSharp.Runtime.Distributed;

/// <summary>
/// A rank's plan and the collectives its layers call on its backend's tensors. Without an exchange the rank is the whole
/// model and the layers skip the collectives; with one (every rank of a group, a group of one included) they exchange
/// through it, so a one-rank group runs the same calls as a split, as identities.
/// </summary>
internal sealed class ModelParallelism
{
    private readonly IRankExchange? exchange;

    public ModelParallelism(ParallelPlan plan, IRankExchange? exchange)
    {
        if ((plan.IsSplit || exchange is not null) && (exchange is null || exchange.Size != plan.Size || exchange.Rank != plan.Rank))
        {
            throw new ArgumentException($"rank {plan.Rank} of {plan.Size} needs an exchange of that rank and size", nameof(exchange));
        }

        this.exchange = exchange;
        Plan = plan;
    }

    public static ModelParallelism Single { get; } = new(ParallelPlan.Single, null);

    public ParallelPlan Plan { get; }

    /// <summary>Whether the layers combine their results with a group (false: this rank holds everything and is alone).</summary>
    public bool Exchanges => exchange is not null;

    /// <summary>Σ over ranks of <paramref name="partial"/> [rows, columns], as a new tensor (the input stays the caller's).</summary>
    public Tensor AllReduceSum(Tensor partial) => Exchange.AllReduceSum(partial);

    /// <summary>
    /// Every rank's column block of a [rows, total] result, side by side: rank r contributes columns
    /// [first_r, first_r + count_r) of each row (its vocabulary share of the logits).
    /// </summary>
    public Tensor AllGatherColumns(Tensor mine, int totalColumns, int firstColumn) => Exchange.AllGatherColumns(mine, totalColumns, firstColumn);

    private IRankExchange Exchange => exchange ?? throw new InvalidOperationException("this rank is not part of a group");
}
