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
    /// <item>a user message is <c>&lt;｜User｜&gt;{content}</c>; when an assistant reply or the end follows it, <c>&lt;｜Assistant｜&gt;</c>
    /// and a thinking marker come next: <c>&lt;think&gt;</c> after the last user message in thinking mode, otherwise <c>&lt;/think&gt;</c>
    /// (earlier turns never show their reasoning);</item>
    /// <item>an assistant message before the last user message is written without its reasoning (the text after the
    /// last <c>&lt;/think&gt;</c>, if any) and ends with <c>&lt;｜end▁of▁sentence｜&gt;</c>; one after the last user message is written
    /// as given (in thinking mode it carries its reasoning and <c>&lt;/think&gt;</c>) and also ends with EOS.</item>
    /// </list>
    /// The prompt ends ready for the model to write: <c>...&lt;｜Assistant｜&gt;&lt;/think&gt;</c> or <c>...&lt;｜Assistant｜&gt;&lt;think&gt;</c>.
    /// </summary>
    public static ChatTemplate DeepSeekV32 { get; } = new();

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
                    if (i + 1 == turns.Count || RoleOf(turns[i + 1], i + 1) == ChatTurn.AssistantRole)
                    {
                        prompt.Append(AssistantMarker).Append(thinking && i == lastUser ? ThinkStart : ThinkEnd);
                    }

                    break;
                case ChatTurn.AssistantRole:
                    prompt.Append(i < lastUser ? WithoutReasoning(turn.Content) : turn.Content).Append(EndOfSentence);
                    break;
            }
        }

        return prompt.ToString();
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
