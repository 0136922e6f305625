namespace OrleansMQ.Load;

/// <summary>What <c>omq bench</c> runs.</summary>
/// <param name="Topic">The topic (created when missing; a new one per run by default).</param>
/// <param name="Messages">Messages to publish.</param>
/// <param name="Rate">Messages per second to publish at; 0 = as fast as the window allows.</param>
/// <param name="Size">Body bytes per message (at least 16: a sequence number and a time stamp).</param>
/// <param name="Partitions">Partitions of a topic the run creates.</param>
/// <param name="InFlight">Most publishes awaiting their receipt at once.</param>
/// <param name="Timeout">How long to wait for the last messages to be consumed after publishing ended.</param>
internal sealed record BenchSettings(string Topic, int Messages, int Rate, int Size, int Partitions, int InFlight, TimeSpan Timeout);
