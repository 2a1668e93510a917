using System.Diagnostics;

namespace KernelSharp.Runtime.Tests.Fuzzing;

/// <summary>
/// A seeded fuzzing loop bounded by iterations and wall time (each fuzz test stays well under 10 s on two cores).
/// A failing case reports its seed and iteration, so it can be replayed by running the same loop.
/// </summary>
internal static class FuzzBudget
{
    /// <summary>Wall-time cap of one fuzz test (the suite's rule is at most 10 s each); iteration counts usually end a loop first.</summary>
    public static readonly TimeSpan MaxTime = TimeSpan.FromSeconds(7);

    /// <summary>
    /// Checks that a loop saw both clean acceptances and clean rejections, which shows the mutations reach the parser's
    /// interesting paths. Judged only when enough iterations ran: on a starved machine the loop may be cut short by time.
    /// </summary>
    public static void BothOutcomesSeen(int accepted, int runs)
    {
        if (runs >= 100)
        {
            Xunit.Assert.InRange(accepted, 1, runs - 1);
        }
    }

    public static int Run(int seed, int maxIterations, TimeSpan maxTime, Action<Random, int> iteration)
    {
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        int done = 0;
        while (done < maxIterations && clock.Elapsed < maxTime)
        {
            iteration(random, done);
            done++;
        }

        return done;
    }

    /// <summary>
    /// Runs <paramref name="action"/>; a <see cref="UserInputException"/> is a clean rejection, any other exception fails
    /// the test with the input described.
    /// </summary>
    public static bool AcceptsOrRejectsCleanly(Action action, string input)
    {
        try
        {
            action();
            return true;
        }
        catch (UserInputException e)
        {
            if (e.Message.Contains('\n') || e.Message.Length == 0)
            {
                throw new Xunit.Sdk.XunitException($"error message is not one line for {input}: {e.Message}");
            }

            return false;
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"{e.GetType().Name} instead of a UserInputException for {input}: {e}");
        }
    }
}
