using KernelSharp.Runtime.Tokenization;

namespace KernelSharp.Cli.Hosting;

/// <summary>Builds DeepSeek-V3.2 chat prompts with the runtime's <see cref="ChatTemplate"/>, the one formatter the CLI, the server and the IChatClient share.</summary>
public static class ChatPrompt
{
    public static ChatTurn System(string text) => ChatTurn.System(text);

    public static ChatTurn User(string text) => ChatTurn.User(text);

    public static ChatTurn Assistant(string text) => ChatTurn.Assistant(text);

    /// <summary>Template text → ids. The template writes BOS itself, so no special tokens are added here.</summary>
    public static int[] Encode(BpeTokenizer tokenizer, IReadOnlyList<ChatTurn> turns, bool thinking)
        => ChatTemplate.DeepSeekV32.Encode(tokenizer, turns, thinking);
}
