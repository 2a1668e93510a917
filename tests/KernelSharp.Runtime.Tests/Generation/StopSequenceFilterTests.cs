using KernelSharp.Runtime.Generation;
using Xunit;

namespace KernelSharp.Runtime.Tests.Generation;

public sealed class StopSequenceFilterTests
{
    [Fact]
    public void A_stop_sequence_split_across_pieces_cuts_the_text_before_it()
    {
        var filter = new StopSequenceFilter(["</end>"]);
        string shown = filter.Push("Hello </") + filter.Push("en") + filter.Push("d> ignored");
        Assert.True(filter.Stopped);
        Assert.Equal("Hello ", shown + filter.Flush());
        Assert.Equal(string.Empty, filter.Push("more"));
    }

    [Fact]
    public void A_held_back_prefix_is_released_when_it_does_not_complete()
    {
        var filter = new StopSequenceFilter(["STOP"]);
        Assert.Equal("abc", filter.Push("abcST"));
        Assert.Equal("STx", filter.Push("x"));
        Assert.Equal("S", filter.Push("S") + filter.Flush());
        Assert.False(filter.Stopped);
    }

    [Fact]
    public void The_earliest_of_several_stop_sequences_wins()
    {
        var filter = new StopSequenceFilter(["yyy", "x"]);
        Assert.Equal("ab", filter.Push("abxyyy"));
        Assert.True(filter.Stopped);
    }

    [Fact]
    public void Without_stop_sequences_text_passes_through_unchanged()
    {
        var filter = new StopSequenceFilter([]);
        Assert.Equal("any text", filter.Push("any text"));
        Assert.Equal(string.Empty, filter.Flush());
    }
}
