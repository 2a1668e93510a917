using KernelSharp.Runtime.Tokenization;
using Xunit;

namespace KernelSharp.Runtime.Tests.Tokenization;

/// <summary>DeepSeek-V3.2's chat format, checked on whole prompt strings written out by hand from DeepSeek's rules.</summary>
public sealed class ChatTemplateTests
{
    private const string Bos = "<｜begin▁of▁sentence｜>";
    private const string Eos = "<｜end▁of▁sentence｜>";

    [Fact]
    public void OneUserMessageWithoutThinkingEndsWithTheClosedThinkMarker()
    {
        string prompt = ChatTemplate.DeepSeekV32.Format([ChatTurn.User("hello")], thinking: false);

        Assert.Equal(Bos + "<｜User｜>hello<｜Assistant｜></think>", prompt);
    }

    [Fact]
    public void ThinkingModeOpensTheThinkBlock()
    {
        string prompt = ChatTemplate.DeepSeekV32.Format([ChatTurn.System("Be brief."), ChatTurn.User("1+1=?")], thinking: true);

        Assert.Equal(Bos + "Be brief.<｜User｜>1+1=?<｜Assistant｜><think>", prompt);
    }

    [Fact]
    public void EarlierTurnsEndWithEosAndLoseTheirReasoning()
    {
        ChatTurn[] turns =
        [
            new("system", "You are a helpful assistant."),
            new("user", "hello"),
            new("assistant", "<think>The user greets me.</think>Hello! I am DeepSeek."),
            new("User", "1+1=?"),
        ];

        Assert.Equal(
            Bos + "You are a helpful assistant.<｜User｜>hello<｜Assistant｜></think>Hello! I am DeepSeek." + Eos + "<｜User｜>1+1=?<｜Assistant｜><think>",
            ChatTemplate.DeepSeekV32.Format(turns, thinking: true));
        Assert.Equal(
            Bos + "You are a helpful assistant.<｜User｜>hello<｜Assistant｜></think>Hello! I am DeepSeek." + Eos + "<｜User｜>1+1=?<｜Assistant｜></think>",
            ChatTemplate.DeepSeekV32.Format(turns, thinking: false));
    }

    [Fact]
    public void AReplyAfterTheLastUserMessageKeepsItsReasoningOnlyInThinkingMode()
    {
        ChatTurn[] turns = [ChatTurn.User("q"), ChatTurn.Assistant("let me see</think>42")];

        Assert.Equal(Bos + "<｜User｜>q<｜Assistant｜><think>let me see</think>42" + Eos, ChatTemplate.DeepSeekV32.Format(turns, thinking: true));
        Assert.Equal(Bos + "<｜User｜>q<｜Assistant｜></think>42" + Eos, ChatTemplate.DeepSeekV32.Format(turns, thinking: false));
    }

    [Fact]
    public void SeveralSystemMessagesAreJoinedByABlankLine()
    {
        string prompt = ChatTemplate.DeepSeekV32.Format([ChatTurn.System("A"), ChatTurn.User("q"), ChatTurn.System("B")], thinking: false);

        Assert.Equal(Bos + "A\n\nB<｜User｜>q<｜Assistant｜></think>", prompt);
    }

    [Fact]
    public void TheFormattedPromptEncodesToTheChatTokenIds()
    {
        BpeTokenizer tokenizer = TokenizerFixtures.DeepSeek;
        string prompt = ChatTemplate.DeepSeekV32.Format([ChatTurn.User("hi"), ChatTurn.Assistant("yo"), ChatTurn.User("ok")], thinking: false);

        int[] ids = tokenizer.Encode(prompt);

        // BOS, <｜User｜>, "hi", <｜Assistant｜>, "</think>" (ordinary text), "yo", EOS, <｜User｜>, "ok", <｜Assistant｜>, "</think>"
        Assert.Equal(0, ids[0]);
        Assert.Equal(128803, ids[1]);
        Assert.Equal(1, ids.Count(id => id == 1));
        Assert.Equal(2, ids.Count(id => id == 128804));
        Assert.Equal(prompt, tokenizer.Decode(ids));
    }

    [Fact]
    public void AnUnknownRoleIsAUserError()
    {
        var exception = Assert.Throws<UserInputException>(() => ChatTemplate.DeepSeekV32.Format([new ChatTurn("tool", "x")], thinking: false));

        Assert.Contains("\"tool\"", exception.Message, StringComparison.Ordinal);
    }
}
