using System.Text.Json;

namespace OrleansMQ.Cli.Tests;

/// <summary>Short accessors for the JSON omq prints.</summary>
internal static class JsonAssertions
{
    public static string Str(this JsonElement e, string property) =>
        e.GetProperty(property).GetString() ?? throw new Xunit.Sdk.XunitException($"{property} is null in {e}");

    public static long Long(this JsonElement e, string property) => e.GetProperty(property).GetInt64();

    public static int Int(this JsonElement e, string property) => e.GetProperty(property).GetInt32();

    public static IReadOnlyList<JsonElement> Items(this JsonElement e, string? property = null) =>
        [.. (property is null ? e : e.GetProperty(property)).EnumerateArray()];

    public static string? Header(this JsonElement message, string name) =>
        message.GetProperty("headers").TryGetProperty(name, out var value) ? value.GetString() : null;
}
