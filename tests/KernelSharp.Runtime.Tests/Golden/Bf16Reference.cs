using System.Text.Json;

namespace KernelSharp.Runtime.Tests.Golden;

/// <summary>
/// How far Hugging Face transformers in bf16 lands from a fixture's float32 golden on the golden's prefill prompt:
/// tests/fixtures/&lt;fixture&gt;/bf16_reference.json, measured on a GPU by tools/gpu/transformers_bf16_reference.py. A bf16
/// prefill of ours is held to it: no further from the float32 golden than transformers' bf16 is. The fixed bar these
/// tests held before that measurement existed (median ≤ 0.1, argmax ≥ 75%: a broken GEMM, errors ~1 and argmax ~1/vocab,
/// fails it) stays in force as well, so the measured bar can only tighten it; it is the whole bar of a fixture without
/// the file (<see cref="Unmeasured"/>).
/// </summary>
/// <param name="Median">The smallest median per-row relative error of transformers' bf16 runs (eager and sdpa attention).</param>
/// <param name="ArgmaxAgreement">The largest share of rows whose argmax agrees with the golden's among those runs.</param>
/// <param name="Source">Which runs, versions and device the numbers come from (for messages).</param>
public sealed record Bf16Reference(double Median, double ArgmaxAgreement, string Source)
{
    /// <summary>Our median row error may be at most this many times transformers-bf16's.</summary>
    public const double MedianFactor = 1.5;

    /// <summary>Our argmax agreement may be at most this far (a share of rows) below transformers-bf16's.</summary>
    public const double ArgmaxSlack = 0.02;

    /// <summary>The fixed bar: the largest median row error whatever transformers measured.</summary>
    public const double FixedMaxMedian = 0.1;

    /// <summary>The fixed bar: the smallest argmax agreement whatever transformers measured.</summary>
    public const double FixedMinArgmaxAgreement = 0.75;

    /// <summary>A fixture whose transformers-bf16 run has not been measured yet: only the fixed bar applies.</summary>
    public static Bf16Reference Unmeasured { get; } = new(double.PositiveInfinity, double.NegativeInfinity, "not measured for this fixture: the fixed bar");

    public static Bf16Reference Load(string fixture)
    {
        var path = Path.Combine(Fixtures.Directory(fixture), "bf16_reference.json");
        if (!File.Exists(path))
        {
            return Unmeasured;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        var runs = root.GetProperty("runs").EnumerateObject().Where(r => r.Name.StartsWith("transformers bf16", StringComparison.Ordinal)).ToList();
        if (runs.Count == 0)
        {
            throw new InvalidDataException($"{path}: no \"transformers bf16 …\" run under \"runs\"");
        }

        var median = runs.Min(r => r.Value.GetProperty("median").GetDouble());
        var argmax = runs.Max(r => r.Value.GetProperty("argmax_agreement").GetDouble());
        var source = $"{string.Join(" / ", runs.Select(r => r.Name))}, transformers {root.GetProperty("transformers").GetString()}, " +
            $"torch {root.GetProperty("torch").GetString()} on {root.GetProperty("device").GetString()}";
        return new Bf16Reference(median, argmax, source);
    }

    /// <summary>The largest median row error a bf16 prefill may have.</summary>
    public double MaxMedian => Math.Min(FixedMaxMedian, MedianFactor * Median);

    /// <summary>The smallest argmax agreement a bf16 prefill may have.</summary>
    public double MinArgmaxAgreement => Math.Max(FixedMinArgmaxAgreement, ArgmaxAgreement - ArgmaxSlack);

    public override string ToString() => ReferenceEquals(this, Unmeasured)
        ? $"transformers bf16 {Source}; bar: median ≤ {MaxMedian:E2}, argmax ≥ {MinArgmaxAgreement:P1}"
        : $"transformers bf16: median {Median:E2}, argmax {ArgmaxAgreement:P1} ({Source}); bar: median ≤ {MaxMedian:E2}, argmax ≥ {MinArgmaxAgreement:P1}";
}
