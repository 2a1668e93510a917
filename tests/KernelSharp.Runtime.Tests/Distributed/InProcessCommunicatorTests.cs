using KernelSharp.Runtime.Distributed;
using Xunit;

namespace KernelSharp.Runtime.Tests.Distributed;

public sealed class InProcessCommunicatorTests
{
    private static T[] OnEveryRank<T>(IReadOnlyList<InProcessCommunicator> group, Func<InProcessCommunicator, T> step)
    {
        var results = new T[group.Count];
        var failures = new Exception?[group.Count];
        var threads = group.Select(c => new Thread(() =>
        {
            try
            {
                results[c.Rank] = step(c);
            }
            catch (Exception e)
            {
                failures[c.Rank] = e;
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            Assert.True(thread.Join(TimeSpan.FromSeconds(30)), "a rank did not finish");
        }

        if (failures.FirstOrDefault(f => f is not null) is { } failure)
        {
            throw failure;
        }

        return results;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public void AllReduceSumGivesEveryRankTheSameSums(int size)
    {
        var group = InProcessCommunicator.CreateGroup(size);
        var results = OnEveryRank(group, c =>
        {
            var values = new[] { c.Rank + 1f, 0.1f * c.Rank, -c.Rank };
            c.AllReduceSum(values);
            return values;
        });
        var expected = new[] { size * (size + 1) / 2f, Enumerable.Range(0, size).Sum(r => 0.1f * r), -size * (size - 1) / 2f };
        foreach (var values in results)
        {
            Assert.Equal(expected[0], values[0]);
            Assert.Equal(expected[1], values[1], 5);
            Assert.Equal(expected[2], values[2]);
            Assert.Equal(results[0], values); // bit-identical on every rank
        }
    }

    [Fact]
    public void ConsecutiveCollectivesDoNotMixTheirBuffers()
    {
        var group = InProcessCommunicator.CreateGroup(4);
        var results = OnEveryRank(group, c =>
        {
            var sums = new List<float>();
            for (var step = 0; step < 50; step++)
            {
                var value = new[] { (float)(step * 10 + c.Rank) };
                c.AllReduceSum(value);
                sums.Add(value[0]);
            }

            return sums;
        });
        var expected = Enumerable.Range(0, 50).Select(step => (float)((step * 10 * 4) + 6)).ToList();
        Assert.All(results, sums => Assert.Equal(expected, sums));
    }

    [Fact]
    public void AllGatherPlacesRanksInOrder()
    {
        var group = InProcessCommunicator.CreateGroup(3);
        var results = OnEveryRank(group, c =>
        {
            var gathered = new float[6];
            c.AllGather([c.Rank, c.Rank + 0.5f], gathered);
            return gathered;
        });
        Assert.All(results, gathered => Assert.Equal([0f, 0.5f, 1f, 1.5f, 2f, 2.5f], gathered));
    }

    [Fact]
    public void BuffersOfDifferentLengthsAreAnErrorNotGarbage()
    {
        var group = InProcessCommunicator.CreateGroup(2);
        var error = Assert.Throws<InvalidOperationException>(() => OnEveryRank(group, c =>
        {
            var values = new float[c.Rank + 1];
            c.AllReduceSum(values);
            return values;
        }));
        Assert.Contains("buffers of different lengths", error.Message);
    }

    [Fact]
    public void AnAbortedGroupReleasesWaitingRanks()
    {
        var group = InProcessCommunicator.CreateGroup(2);
        var waiting = new Thread(() => Assert.Throws<GroupAbortedException>(() => group[0].AllReduceSum(new float[1])));
        waiting.Start();
        Thread.Sleep(100);
        group[1].Abort(); // rank 1 failed before reaching the collective
        Assert.True(waiting.Join(TimeSpan.FromSeconds(10)), "rank 0 kept waiting for a rank that will never come");
    }
}
