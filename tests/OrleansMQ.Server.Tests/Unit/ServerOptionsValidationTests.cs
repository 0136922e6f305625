using OrleansMQ.Server.Hosting;

namespace OrleansMQ.Tests.Unit;

/// <summary>The silo refuses to start with storage settings out of range, naming the setting and the range.</summary>
public sealed class ServerOptionsValidationTests
{
    [Theory]
    [InlineData(0, 1, "ParallelFlushes is 0; it must be 1–64")]
    [InlineData(65, 1, "ParallelFlushes is 65; it must be 1–64")]
    [InlineData(8, -1, "AzureOwnershipCheckInterval is -00:00:01; it must be 0 – 5 min")]
    [InlineData(8, 301, "AzureOwnershipCheckInterval is 00:05:01; it must be 0 – 5 min")]
    public void Storage_settings_out_of_range_are_refused_by_name(int parallelFlushes, int ownershipCheckSeconds, string expected)
    {
        var options = new OrleansMQServerOptions
        {
            DataDirectory = "data",
            ParallelFlushes = parallelFlushes,
            AzureOwnershipCheckInterval = TimeSpan.FromSeconds(ownershipCheckSeconds),
        };

        var result = new OrleansMQServerOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(64, 300)]
    public void The_bounds_themselves_are_accepted(int parallelFlushes, int ownershipCheckSeconds)
    {
        var options = new OrleansMQServerOptions
        {
            DataDirectory = "data",
            ParallelFlushes = parallelFlushes,
            AzureOwnershipCheckInterval = TimeSpan.FromSeconds(ownershipCheckSeconds),
        };

        Assert.True(new OrleansMQServerOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData(-1, "CursorPersistInterval is -00:00:00.0010000; it must be 0–1 s")]
    [InlineData(1001, "CursorPersistInterval is 00:00:01.0010000; it must be 0–1 s")]
    public void A_cursor_persist_interval_out_of_range_is_refused_by_name(int milliseconds, string expected)
    {
        var options = new OrleansMQServerOptions { DataDirectory = "data", CursorPersistInterval = TimeSpan.FromMilliseconds(milliseconds) };

        var result = new OrleansMQServerOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new OrleansMQServerOptionsValidator().Validate(null, new OrleansMQServerOptions { DataDirectory = "data", CursorPersistInterval = TimeSpan.FromSeconds(1) }).Succeeded);
    }
}
