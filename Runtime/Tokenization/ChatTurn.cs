namespace KernelSharp.Runtime.Tokenization;

/// <summary>One message of a conversation. <see cref="Role"/> is "system", "user" or "assistant" (any letter case).</summary>
public sealed record ChatTurn(string Role, string Content)
{
    public const string SystemRole = "system";
    public const string UserRole = "user";
    public const string AssistantRole = "assistant";

    public static ChatTurn System(string content) => new(SystemRole, content);

    public static ChatTurn User(string content) => new(UserRole, content);

    public static ChatTurn Assistant(string content) => new(AssistantRole, content);
}
