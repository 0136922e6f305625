using System.Buffers;

namespace OrleansMQ;

/// <summary>
/// The naming rule for topics, queues and subscriptions: 1–200 characters from <c>[A-Za-z0-9._-]</c>.
/// The rule keeps names safe as file names, storage keys and grain keys (which use '/' as a separator).
/// </summary>
public static class Names
{
    /// <summary>Maximum length of a topic, queue or subscription name.</summary>
    public const int MaxLength = 200;

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

    /// <summary>True when <paramref name="name"/> satisfies the naming rule.</summary>
    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxLength && !name.AsSpan().ContainsAnyExcept(Allowed) && name is not "." and not "..";

    /// <summary>Throws <see cref="ErrorCode.InvalidName"/> when <paramref name="name"/> breaks the naming rule.</summary>
    /// <param name="name">The name to check.</param>
    /// <param name="kind">What is being named ("topic", "subscription", ...), used in the message.</param>
    public static string Validate(string? name, string kind)
    {
        if (IsValid(name))
        {
            return name!;
        }

        var shown = name is null ? "(null)" : name.Length > 60 ? name[..60] + "…" : name;
        throw new OrleansMQException(ErrorCode.InvalidName,
            $"Invalid {kind} name '{shown}' (length {name?.Length ?? 0}): names must be 1–{MaxLength} characters from [A-Za-z0-9._-] and not '.' or '..'.");
    }
}
