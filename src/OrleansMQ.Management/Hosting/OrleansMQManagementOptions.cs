namespace OrleansMQ.Management;

/// <summary>Settings of the management page (configuration section <c>Management</c>).</summary>
public sealed class OrleansMQManagementOptions
{
    /// <summary>Whether silo-host serves the page. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Seconds of per-second rate history kept for the live charts. Default 300; 10–3600.</summary>
    public int RateHistorySeconds { get; set; } = 300;

    /// <summary>Most dead letters the page lists per subscription. Default 50; 1–1000.</summary>
    public int DeadLettersShown { get; set; } = 50;
}
