using System.Text;
using OrleansMQ.Gateway.Http;
using OrleansMQ.Gateway.WebSockets;

namespace OrleansMQ.Gateway.Tests.Unit;

/// <summary>The credit pool behind WebSocket stream sessions, and the client frame parser.</summary>
public sealed class StreamCreditTests
{
    [Fact]
    public async Task Reservations_split_the_credit_across_partitions_and_never_exceed_it()
    {
        var credit = new StreamCredit(partitions: 4, maxCredit: 100, maxTake: 256);
        credit.Grant(10);

        var shares = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            shares.Add(await credit.ReserveAsync(CancellationToken.None));
        }

        // Each poll takes a quarter (rounded up) of what is left, so no single partition takes it all.
        Assert.Equal([3, 2, 2, 1, 1, 1], shares);
        Assert.Equal(10, credit.Unspent);
        var waiting = credit.ReserveAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted); // all 10 are reserved: nothing more can be asked of the broker

        credit.Settle(reserved: 3, spent: 3);
        credit.Settle(reserved: 2, spent: 2);
        credit.Settle(reserved: 2, spent: 2);
        credit.Settle(reserved: 1, spent: 1);
        credit.Settle(reserved: 1, spent: 1);
        Assert.False(waiting.IsCompleted);
        credit.Settle(reserved: 1, spent: 0); // unused credit goes to the waiting poll
        Assert.Equal(1, await waiting);
        Assert.Equal(1, credit.Unspent);
    }

    [Fact]
    public async Task Waiting_polls_are_served_first_come_first_served()
    {
        var credit = new StreamCredit(partitions: 3, maxCredit: 100, maxTake: 256);
        var first = credit.ReserveAsync(CancellationToken.None);
        var second = credit.ReserveAsync(CancellationToken.None);

        credit.Grant(1);
        Assert.Equal(1, await first);
        Assert.False(second.IsCompleted);

        // The first poll found nothing: its credit goes to the second, not back to whoever asks next.
        credit.Settle(reserved: 1, spent: 0);
        var third = credit.ReserveAsync(CancellationToken.None);
        Assert.Equal(1, await second);
        Assert.False(third.IsCompleted);
    }

    [Fact]
    public async Task A_cancelled_wait_keeps_the_credit_for_the_others()
    {
        var credit = new StreamCredit(partitions: 2, maxCredit: 100, maxTake: 256);
        using var cancel = new CancellationTokenSource();
        var cancelled = credit.ReserveAsync(cancel.Token);
        var other = credit.ReserveAsync(CancellationToken.None);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        credit.Grant(1);
        Assert.Equal(1, await other);
    }

    [Fact]
    public void Unspent_credit_above_the_maximum_is_refused()
    {
        var credit = new StreamCredit(partitions: 1, maxCredit: 10, maxTake: 256);
        credit.Grant(10);

        var error = Assert.Throws<OrleansMQException>(() => credit.Grant(1));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal(10, credit.Unspent);
    }

    [Theory]
    [InlineData("""{"type":"credit","n":5}""", "Credit")]
    [InlineData("""{"type":"ack","id":"2-17-1"}""", "Ack")]
    [InlineData("""{"type":"nack","id":"2-17-1","delayMs":250,"reason":"busy"}""", "Nack")]
    [InlineData("""{"type":"ping"}""", "Ping")]
    public void Valid_frames_parse(string json, string expected)
    {
        var type = Enum.Parse<StreamClientFrameType>(expected);
        var frame = StreamClientFrame.Parse(Encoding.UTF8.GetBytes(json), TimeSpan.FromSeconds(30));

        Assert.Equal(type, frame.Type);
        if (type is StreamClientFrameType.Ack or StreamClientFrameType.Nack)
        {
            Assert.Equal(new DeliveryId(2, 17, 1), frame.Id);
        }

        if (type == StreamClientFrameType.Nack)
        {
            Assert.Equal(TimeSpan.FromMilliseconds(250), frame.NackDelay);
            Assert.Equal("busy", frame.Reason);
        }
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("""{"n":5}""")]
    [InlineData("""{"type":"credit"}""")]
    [InlineData("""{"type":"credit","n":0}""")]
    [InlineData("""{"type":"credit","n":1.5}""")]
    [InlineData("""{"type":"ack"}""")]
    [InlineData("""{"type":"ack","id":17}""")]
    [InlineData("""{"type":"nack","id":"0-1-1","delayMs":30001}""")]
    [InlineData("""{"type":"nack","id":"0-1-1","delayMs":-1}""")]
    [InlineData("""{"type":"subscribe"}""")]
    public void Invalid_frames_are_invalid_arguments(string json)
    {
        var error = Assert.Throws<OrleansMQException>(() => StreamClientFrame.Parse(Encoding.UTF8.GetBytes(json), TimeSpan.FromSeconds(30)));

        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
    }
}
