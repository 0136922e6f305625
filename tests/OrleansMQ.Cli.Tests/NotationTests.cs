using OrleansMQ.Cli.Parsing;

namespace OrleansMQ.Cli.Tests;

/// <summary>The value notations omq reads and writes (durations, sizes, positions, headers).</summary>
public sealed class NotationTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("10s", 10_000)]
    [InlineData("10", 10_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("5m", 300_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("7d", 604_800_000)]
    [InlineData("00:00:30", 30_000)]
    [InlineData(" 2H ", 7_200_000)]
    public void Durations_parse_units_combinations_and_time_spans(string text, long milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Durations.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("7x")]
    [InlineData("s")]
    [InlineData("10 s")]
    [InlineData("1..5s")]
    [InlineData("10s5")]
    public void Durations_reject_what_they_cannot_read(string text) =>
        Assert.Throws<FormatException>(() => Durations.Parse(text));

    [Theory]
    [InlineData(0L)]
    [InlineData(250L)]
    [InlineData(30_000L)]
    [InlineData(5_400_000L)]
    [InlineData(604_800_000L + 1_000)]
    public void Durations_format_to_text_that_parses_back_to_the_same_value(long milliseconds)
    {
        var value = TimeSpan.FromMilliseconds(milliseconds);
        Assert.Equal(value, Durations.Parse(Durations.Format(value)));
    }

    [Theory]
    [InlineData("1048576", 1L << 20)]
    [InlineData("1MiB", 1L << 20)]
    [InlineData("64 KiB", 64L << 10)]
    [InlineData("1gb", 1_000_000_000L)]
    [InlineData("1.5KiB", 1_536L)]
    [InlineData("10B", 10L)]
    public void Byte_sizes_parse_decimal_and_binary_units(string text, long bytes) =>
        Assert.Equal(bytes, ByteSizes.Parse(text));

    [Theory]
    [InlineData("lots")]
    [InlineData("-1")]
    [InlineData("0.5B")]
    [InlineData("99999999999TiB")]
    public void Byte_sizes_reject_what_is_not_a_whole_number_of_bytes(string text) =>
        Assert.Throws<FormatException>(() => ByteSizes.Parse(text));

    [Fact]
    public void Positions_parse_every_kind_and_format_back()
    {
        var now = new DateTimeOffset(2025, 1, 31, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(StartPosition.Earliest, StartPositions.Parse("earliest", now));
        Assert.Equal(StartPosition.Latest, StartPositions.Parse("LATEST", now));
        Assert.Equal(StartPosition.AtOffset(42), StartPositions.Parse("offset:42", now));
        Assert.Equal(StartPosition.AtTimestamp(now), StartPositions.Parse("time:2025-01-31T12:00:00Z", now));
        Assert.Equal(StartPosition.AtTimestamp(now), StartPositions.Parse("time:2025-01-31T12:00:00", now)); // UTC when no offset
        Assert.Equal(StartPosition.AtTimestamp(now.AddHours(-1)), StartPositions.Parse("ago:1h", now));

        foreach (var position in new[] { StartPosition.Earliest, StartPosition.AtOffset(7), StartPosition.AtTimestamp(now) })
        {
            Assert.Equal(position, StartPositions.Parse(StartPositions.Format(position), now));
        }
    }

    [Theory]
    [InlineData("offset:-1")]
    [InlineData("offset:x")]
    [InlineData("time:yesterday")]
    [InlineData("beginning")]
    public void Positions_reject_unknown_forms(string text) =>
        Assert.ThrowsAny<Exception>(() => StartPositions.Parse(text, DateTimeOffset.UnixEpoch));

    [Fact]
    public void Headers_split_at_the_first_equals_sign_and_refuse_repeats()
    {
        var headers = HeaderPairs.Parse(["a=1", "expr=x=y", "empty="]);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["expr"] = "x=y", ["empty"] = "" }, headers);

        Assert.Throws<FormatException>(() => HeaderPairs.Parse(["novalue"]));
        Assert.Throws<FormatException>(() => HeaderPairs.Parse(["=v"]));
        Assert.Throws<FormatException>(() => HeaderPairs.Parse(["a=1", "a=2"]));
    }
}
