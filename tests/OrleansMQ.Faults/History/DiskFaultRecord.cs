namespace OrleansMQ.Faults.History;

/// <summary>
/// An injected disk fault: the nemesis destroyed the stored bytes of <see cref="Topic"/>/<see cref="Partition"/> from
/// offset <see cref="FromOffset"/> on (a torn tail or a flipped bit; recovery cuts the log there). Messages acknowledged
/// at those offsets BEFORE the fault (by the producers in <see cref="Before"/>) may be missing afterwards without that being a broker bug; the
/// checker reports them separately. Messages published after the fault get offsets from there again and must not be lost.
/// </summary>
/// <param name="Topic">Topic.</param>
/// <param name="Partition">Partition.</param>
/// <param name="FromOffset">The first offset whose record the fault damaged.</param>
/// <param name="Kind">"torn-tail" or "bit-flip".</param>
/// <param name="File">The segment file.</param>
/// <param name="Position">The byte position the damage starts at.</param>
/// <param name="Before">The producers whose publishes happened before the fault (the fault can only excuse their messages).</param>
public sealed record DiskFaultRecord(string Topic, int Partition, long FromOffset, string Kind, string File, long Position, IReadOnlyList<string> Before);
