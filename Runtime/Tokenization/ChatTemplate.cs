using System.Text;

namespace KernelSharp.Runtime.Tokenization;

/// <summary>
/// Writes a conversation as the prompt text a chat model was trained on. The text contains the special tokens
/// spelled out (e.g. <c>&lt;｜User｜&gt;</c>); <see cref="BpeTokenizer.Encode"/> turns them into their ids.
/// </summary>
public sealed class ChatTemplate
{
    private const string BeginOfSentence = "<｜begin▁of▁sentence｜>";
    private const string EndOfSentence = "<｜end▁of▁sentence｜>";
    private const string UserMarker = "<｜User｜>";
    private const string AssistantMarker = "<｜Assistant｜>";
    private const string ThinkStart = "<think>";
    private const string ThinkEnd = "</think>";

    private ChatTemplate()
    {
    }

    /// <summary>
    /// DeepSeek-V3.2's chat format (the rules of DeepSeek's <c>encoding_dsv32.py</c> for plain chat, without tools):
    /// <list type="bullet">
    /// <item>the prompt starts with BOS, then every system message (joined with a blank line);</item>
    /// <item>a user message is <c>&lt;｜User｜&gt;{content}</c>; unless another user message comes next, <c>&lt;｜Assistant｜&gt;</c>
    /// and a thinking marker come next: <c>&lt;think&gt;</c> after the last user message in thinking mode, otherwise <c>&lt;/think&gt;</c>
    /// (earlier turns never show their reasoning);</item>
    /// <item>an assistant message is written without its reasoning (the text after the last <c>&lt;/think&gt;</c>, if any) and
    /// ends with <c>&lt;｜end▁of▁sentence｜&gt;</c> — except one after the last user message in thinking mode, which follows the
    /// opened <c>&lt;think&gt;</c> and so is written as given (its reasoning, <c>&lt;/think&gt;</c>, its answer).</item>
    /// </list>
    /// The prompt ends ready for the model to write: <c>...&lt;｜Assistant｜&gt;&lt;/think&gt;</c> or <c>...&lt;｜Assistant｜&gt;&lt;think&gt;</c>.
    /// </summary>
    public static ChatTemplate DeepSeekV32 { get; } = new();

    /// <summary>Template text → ids, in the one place the CLI, the chat client and the server share. The template writes BOS
    /// itself, so no special tokens are added.</summary>
    public int[] Encode(BpeTokenizer tokenizer, IReadOnlyList<ChatTurn> turns, bool thinking)
        => tokenizer.Encode(Format(turns, thinking), addSpecialTokens: false);

    /// <summary>The prompt text for <paramref name="turns"/>; <paramref name="thinking"/> selects thinking mode.</summary>
    public string Format(IReadOnlyList<ChatTurn> turns, bool thinking)
    {
        ArgumentNullException.ThrowIfNull(turns);
        int lastUser = -1;
        for (int i = 0; i < turns.Count; i++)
        {
            string role = RoleOf(turns[i], i);
            if (role == ChatTurn.UserRole)
            {
                lastUser = i;
            }
        }

        var prompt = new StringBuilder(BeginOfSentence);
        prompt.AppendJoin("\n\n", turns.Where(turn => RoleOf(turn, 0) == ChatTurn.SystemRole).Select(turn => turn.Content));
        for (int i = 0; i < turns.Count; i++)
        {
            ChatTurn turn = turns[i];
            switch (RoleOf(turn, i))
            {
                case ChatTurn.UserRole:
                    prompt.Append(UserMarker).Append(turn.Content);
                    if (NextConversationRole(turns, i) != ChatTurn.UserRole)
                    {
                        prompt.Append(AssistantMarker).Append(thinking && i == lastUser ? ThinkStart : ThinkEnd);
                    }

                    break;
                case ChatTurn.AssistantRole:
                    prompt.Append(thinking && i > lastUser ? turn.Content : WithoutReasoning(turn.Content)).Append(EndOfSentence);
                    break;
            }
        }

        return prompt.ToString();
    }

    // The role of the next user or assistant turn after index (system turns were moved to the front), or null at the end.
    private static string? NextConversationRole(IReadOnlyList<ChatTurn> turns, int index)
    {
        for (int i = index + 1; i < turns.Count; i++)
        {
            string role = RoleOf(turns[i], i);
            if (role != ChatTurn.SystemRole)
            {
                return role;
            }
        }

        return null;
    }

    private static string RoleOf(ChatTurn turn, int index)
    {
        ArgumentNullException.ThrowIfNull(turn);
        string role = turn.Role.ToLowerInvariant();
        return role is ChatTurn.SystemRole or ChatTurn.UserRole or ChatTurn.AssistantRole
            ? role
            : throw new UserInputException($"chat turn {index}: role \"{turn.Role}\" is not one of system, user, assistant");
    }

    private static string WithoutReasoning(string content)
    {
        int end = content.LastIndexOf(ThinkEnd, StringComparison.Ordinal);
        return end < 0 ? content : content[(end + ThinkEnd.Length)..];
    }
}
