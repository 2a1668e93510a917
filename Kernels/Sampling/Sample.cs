using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Sampling;

/// <summary>
/// Temperature / top-k / top-p sampling of one token per row, deterministic given the uniform number passed in
/// (the host owns the seeded RNG). Semantics match <see cref="SampleReference"/>: p ∝ exp((logit − max)/T); top-k
/// keeps logits ≥ the k-th largest (boundary ties kept); top-p keeps the largest logits until their mass reaches
/// top_p of the kept mass (ties kept); the token is the first index where the running kept mass exceeds u · total.
/// </summary>
/// <remarks>
/// No sort: both thresholds are found by a 32-step bisection on the order-preserving integer key of the logits,
/// each step one group-wide count (top-k) or mass (top-p) of the keys at or above the candidate. Thread t owns the
/// contiguous slice t of the row, so the final prefix walk runs in vocabulary order: slice masses go to shared
/// memory, each thread adds those before it and walks its slice. Temperature must be &gt; 0 (the host sends
/// temperature 0 to <see cref="ArgmaxKernels"/>); topK ≤ 0 or ≥ vocab and topP ≥ 1 disable the filters.
/// A library kernel, like <see cref="ArgmaxKernels"/>: the runtime samples on the host (Kernels/README.md).
/// </remarks>
public static partial class SampleKernels
{
    /// <summary>Largest group the shared slice-mass array serves.</summary>
    private const int MaxGroupSize = 1024;

    [Kernel(Grid = "rows", GroupSize = "groupSize")]
    public static void Sample(
        ArrayView<float> logits,        // [rows, vocab]
        ArrayView<float> probabilities, // [rows, vocab] scratch: unnormalized exp((logit − max)/T)
        ArrayView<float> uniforms,      // [rows] in [0, 1)
        ArrayView<int> output,          // [rows]
        int rows,
        int vocab,
        float temperature,
        int topK,
        float topP,
        [Constant(1, 256)] int groupSize)
    {
        int row = Grid.IdxX;
        int thread = Group.IdxX;
        long start = (long)row * vocab;
        int sliceLength = (vocab + groupSize - 1) / groupSize;
        int sliceStart = IntrinsicMath.Min(thread * sliceLength, vocab);
        int sliceEnd = IntrinsicMath.Min(sliceStart + sliceLength, vocab);
        var sliceMasses = SharedMemory.Allocate<float>(MaxGroupSize); // [groupSize]

        float max = KsGroup.Max(SampleSlices.Max(logits, start, sliceStart, sliceEnd));
        SampleSlices.Exponentiate(logits, probabilities, start, sliceStart, sliceEnd, max, 1f / temperature);

        // Top-k: the largest key K with count(key ≥ K) ≥ k, decided one bit at a time from the top.
        uint topKKey = 0;
        int topKSteps = topK > 0 && topK < vocab ? 32 : 0;
        for (int step = 0; step < topKSteps; step++)
        {
            uint candidate = topKKey | (0x8000_0000u >> step);
            float count = KsGroup.Sum(SampleSlices.CountAtLeast(logits, start, sliceStart, sliceEnd, candidate));
            if (count >= topK)
                topKKey = candidate;
        }
        float keptMass = KsGroup.Sum(SampleSlices.MassAtLeast(logits, probabilities, start, sliceStart, sliceEnd, topKKey));

        // Top-p: the largest key K (≥ the top-k key) whose kept mass at or above K still reaches top_p of the kept mass.
        uint topPKey = 0;
        int topPSteps = topP < 1f ? 32 : 0;
        float targetMass = topP * keptMass;
        for (int step = 0; step < topPSteps; step++)
        {
            uint candidate = topPKey | (0x8000_0000u >> step);
            uint effective = candidate > topKKey ? candidate : topKKey;
            float mass = KsGroup.Sum(SampleSlices.MassAtLeast(logits, probabilities, start, sliceStart, sliceEnd, effective));
            if (mass >= targetMass && mass > 0f)
                topPKey = candidate;
        }
        uint threshold = topPKey > topKKey ? topPKey : topKKey;

        // Walk the kept mass in vocabulary order to the point u · total.
        float sliceMass = SampleSlices.MassAtLeast(logits, probabilities, start, sliceStart, sliceEnd, threshold);
        sliceMasses[thread] = sliceMass;
        KsGroup.Barrier();
        float totalMass = KsGroup.Sum(sliceMass);
        float before = 0f;
        for (int t = 0; t < thread; t++)
            before += sliceMasses[t];
        float target = uniforms[row] * totalMass;
        int found = SampleSlices.FirstCrossing(logits, probabilities, start, sliceStart, sliceEnd, threshold, before, target);
        float firstFound = KsGroup.Max(found >= 0 ? -(float)found : float.NegativeInfinity);
        float lastKept = KsGroup.Max(SampleSlices.LastAtLeast(logits, start, sliceStart, sliceEnd, threshold));
        if (thread == 0)
        {
            // Rounding can leave u · total just above the walked sum: then the last kept token is the answer.
            int token = firstFound != float.NegativeInfinity ? (int)(-firstFound) : (int)lastKept;
            output[row] = token < 0 ? 0 : token;
        }
    }
}

/// <summary>Per-thread slice loops of <see cref="SampleKernels.Sample"/>; the slice is [sliceStart, sliceEnd) of the row.</summary>
public static class SampleSlices
{
    /// <summary>An unsigned key with the order of the floats: negative values flipped whole, positives get the sign bit.</summary>
    public static uint OrderedKey(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }

    public static float Max(ArrayView<float> logits, long start, int sliceStart, int sliceEnd)
    {
        float best = float.NegativeInfinity;
        for (int i = sliceStart; i < sliceEnd; i++)
            best = MathF.Max(best, logits[start + i]);
        return best;
    }

    public static void Exponentiate(ArrayView<float> logits, ArrayView<float> probabilities, long start, int sliceStart, int sliceEnd,
        float max, float inverseTemperature)
    {
        for (int i = sliceStart; i < sliceEnd; i++)
            probabilities[start + i] = MathF.Exp((logits[start + i] - max) * inverseTemperature);
    }

    public static float CountAtLeast(ArrayView<float> logits, long start, int sliceStart, int sliceEnd, uint key)
    {
        float count = 0f;
        for (int i = sliceStart; i < sliceEnd; i++)
            count += OrderedKey(logits[start + i]) >= key ? 1f : 0f;
        return count;
    }

    public static float MassAtLeast(ArrayView<float> logits, ArrayView<float> probabilities, long start, int sliceStart, int sliceEnd, uint key)
    {
        float mass = 0f;
        for (int i = sliceStart; i < sliceEnd; i++)
            mass += OrderedKey(logits[start + i]) >= key ? probabilities[start + i] : 0f;
        return mass;
    }

    /// <summary>The first kept index where before + running kept mass exceeds target, or −1.</summary>
    public static int FirstCrossing(ArrayView<float> logits, ArrayView<float> probabilities, long start, int sliceStart, int sliceEnd,
        uint key, float before, float target)
    {
        float running = before;
        for (int i = sliceStart; i < sliceEnd; i++)
        {
            if (OrderedKey(logits[start + i]) >= key)
            {
                running += probabilities[start + i];
                if (running > target)
                    return i;
            }
        }
        return -1;
    }

    /// <summary>The last kept index of the slice as a float (exact below 2^24), or −∞ when none.</summary>
    public static float LastAtLeast(ArrayView<float> logits, long start, int sliceStart, int sliceEnd, uint key)
    {
        float last = float.NegativeInfinity;
        for (int i = sliceStart; i < sliceEnd; i++)
        {
            if (OrderedKey(logits[start + i]) >= key)
                last = i;
        }
        return last;
    }
}
