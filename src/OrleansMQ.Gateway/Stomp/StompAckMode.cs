namespace OrleansMQ.Gateway.Stomp;

/// <summary>The <c>ack</c> header of SUBSCRIBE.</summary>
internal enum StompAckMode
{
    /// <summary>The gateway acknowledges each MESSAGE once it is written to the connection.</summary>
    Auto,

    /// <summary>ACK/NACK are cumulative: they settle the named message and every earlier unsettled one of the subscription.</summary>
    Client,

    /// <summary>ACK/NACK settle exactly one message.</summary>
    ClientIndividual,
}
