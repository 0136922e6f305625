namespace OrleansMQ.Tests.Unit;

public sealed class SpecTests
{
    [Fact]
    public void Nack_backoff_doubles_per_attempt_up_to_the_maximum()
    {
        var spec = new SubscriptionSpec { NackBackoffInitial = TimeSpan.FromSeconds(1), NackBackoffMax = TimeSpan.FromSeconds(10) };
        Assert.Equal(TimeSpan.FromSeconds(1), spec.BackoffFor(1));
        Assert.Equal(TimeSpan.FromSeconds(2), spec.BackoffFor(2));
        Assert.Equal(TimeSpan.FromSeconds(8), spec.BackoffFor(4));
        Assert.Equal(TimeSpan.FromSeconds(10), spec.BackoffFor(5));
        Assert.Equal(TimeSpan.FromSeconds(10), spec.BackoffFor(1000));
    }

    [Fact]
    public void Subscription_spec_rejects_out_of_range_values_with_the_limit()
    {
        var tooShort = Assert.Throws<OrleansMQException>(() => new SubscriptionSpec { AckTimeout = TimeSpan.FromMilliseconds(5) }.Validate("t", "s"));
        Assert.Equal(ErrorCode.InvalidArgument, tooShort.Code);
        Assert.Contains("100 ms", tooShort.Message);
        Assert.Throws<OrleansMQException>(() => new SubscriptionSpec { MaxDeliveries = -1 }.Validate("t", "s"));
        Assert.Throws<OrleansMQException>(() => new SubscriptionSpec { NackBackoffInitial = TimeSpan.FromMinutes(2), NackBackoffMax = TimeSpan.FromMinutes(1) }.Validate("t", "s"));
        var longDlq = Assert.Throws<OrleansMQException>(() => new SubscriptionSpec().Validate(new string('t', 190), "subscription"));
        Assert.Equal(ErrorCode.InvalidName, longDlq.Code);
    }

    [Fact]
    public void Message_size_counts_body_key_id_content_type_and_headers()
    {
        var m = new Message(new byte[10]) { Key = "kk", MessageId = "id", ContentType = "ct", Headers = new Dictionary<string, string> { ["h"] = "vv" } };
        Assert.Equal(10 + 2 + 2 + 2 + 1 + 2, MessageLimits.SizeOf(m));
        MessageLimits.Validate(m, "t", 19);
        var ex = Assert.Throws<OrleansMQException>(() => MessageLimits.Validate(m, "t", 18));
        Assert.Equal(ErrorCode.MessageTooLarge, ex.Code);
        Assert.Contains("19 bytes", ex.Message);
        Assert.Contains("18 bytes", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Message_validation_names_the_offending_header_whatever_the_dictionary_type(bool sorted)
    {
        IReadOnlyDictionary<string, string> Headers(params (string Name, string Value)[] pairs)
        {
            var headers = pairs.ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
            return sorted ? new SortedDictionary<string, string>(headers, StringComparer.Ordinal) : headers;
        }

        OrleansMQException Refused(params (string, string)[] pairs) =>
            Assert.Throws<OrleansMQException>(() => MessageLimits.Validate(new Message { Headers = Headers(pairs) }, "t", MessageLimits.DefaultMaxMessageBytes));

        var longValue = Refused(("region", "eu"), ("big", new string('v', MessageLimits.MaxHeaderFieldLength + 1)));
        Assert.Equal(ErrorCode.HeadersTooLarge, longValue.Code);
        Assert.Contains("header 'big'", longValue.Message);
        Assert.Contains("4097", longValue.Message);
        var longName = Refused((new string('n', MessageLimits.MaxHeaderFieldLength + 1), "v"));
        Assert.Equal(ErrorCode.HeadersTooLarge, longName.Code);
        Assert.Contains("header name", longName.Message);
        var priority = Refused((OrleansMQ.Headers.Priority, "10"));
        Assert.Equal(ErrorCode.InvalidArgument, priority.Code);
        Assert.Contains("'omq-priority' is '10'", priority.Message);
        var delay = Refused((OrleansMQ.Headers.DelayMs, "soon"));
        Assert.Contains("'omq-delay-ms' is 'soon'", delay.Message);

        var ok = new Message(new byte[3]) { Headers = Headers(("ä", "vv"), (OrleansMQ.Headers.Priority, "9")) };
        MessageLimits.Validate(ok, "t", 3 + 2 + 2 + 12 + 1);
        Assert.Equal(3 + 2 + 2 + 12 + 1, MessageLimits.SizeOf(ok));
        Assert.Equal(ErrorCode.MessageTooLarge, Assert.Throws<OrleansMQException>(() => MessageLimits.Validate(ok, "t", 19)).Code);
    }

    [Fact]
    public void Topic_spec_limits_are_validated()
    {
        Assert.Throws<OrleansMQException>(() => new TopicSpec { Partitions = TopicSpec.MaxPartitions + 1 }.Validate("t"));
        Assert.Throws<OrleansMQException>(() => new TopicSpec { MaxMessageBytes = MessageLimits.AbsoluteMaxMessageBytes + 1 }.Validate("t"));
        Assert.Throws<OrleansMQException>(() => new TopicSpec { Retention = new RetentionPolicy { MaxAge = TimeSpan.Zero } }.Validate("t"));
        new TopicSpec { Partitions = 16 }.Validate("t");
    }

    [Fact]
    public void Specs_with_transforms_compare_by_content()
    {
        SubscriptionSpec Make() => new() { Transforms = [TransformStep.SetHeader("a", "b"), TransformStep.Custom("x")] };
        Assert.Equal(Make(), Make());
        Assert.NotEqual(Make(), Make() with { Transforms = [TransformStep.SetHeader("a", "c")] });
        Assert.Equal(new Binding { Destination = "q", Transforms = [TransformStep.RemoveHeader("h")] }, new Binding { Destination = "q", Transforms = [TransformStep.RemoveHeader("h")] });
    }
}
