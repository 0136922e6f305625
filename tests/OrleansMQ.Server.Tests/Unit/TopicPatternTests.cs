using OrleansMQ.Server.Routing;

namespace OrleansMQ.Tests.Unit;

public sealed class TopicPatternTests
{
    [Theory]
    [InlineData("orders.*.created", "orders.eu.created", true)]
    [InlineData("orders.*.created", "orders.created", false)]
    [InlineData("orders.*.created", "orders.eu.west.created", false)]
    [InlineData("#", "", true)]
    [InlineData("#", "a", true)]
    [InlineData("#", "a.b.c", true)]
    [InlineData("#.a", "a", true)]
    [InlineData("#.a", "x.y.a", true)]
    [InlineData("#.a", "a.x", false)]
    [InlineData("a.#", "a", true)]
    [InlineData("a.#", "a.b.c", true)]
    [InlineData("a.#", "b.a", false)]
    [InlineData("#.a.#", "a", true)]
    [InlineData("#.a.#", "x.a.y", true)]
    [InlineData("#.a.#", "x.b.y", false)]
    [InlineData("#.#", "", true)]
    [InlineData("*", "", false)]
    [InlineData("*", "a", true)]
    [InlineData("*", "a.b", false)]
    [InlineData("a.*.b", "a..b", true)]
    [InlineData("a.#.b", "a..b", true)]
    [InlineData("a.#.b", "a.b", true)]
    [InlineData("", "", true)]
    [InlineData("", "a", false)]
    [InlineData("a.b", "a.b", true)]
    [InlineData("a.b", "a.c", false)]
    [InlineData("*.*.*", "a.b", false)]
    [InlineData("#.*", "", false)]
    [InlineData("#.*", "a.b", true)]
    public void Topic_patterns_follow_RabbitMQ_semantics(string pattern, string routingKey, bool matches) =>
        Assert.Equal(matches, TopicPattern.IsMatch(pattern, routingKey));

    [Fact]
    public void Routing_table_reuses_a_keys_route_unless_a_filter_must_see_each_message()
    {
        var plain = new RoutingTable(new ExchangeInfo
        {
            Name = "x",
            Spec = new ExchangeSpec { Type = ExchangeType.Topic },
            Bindings = [new Binding { Destination = "q1", Key = "a.*" }],
        });
        var first = plain.Route("a.b", new Message());
        Assert.Same(first, plain.Route("a.b", new Message()));
        Assert.Equal(["q1"], first.Select(t => t.Destination));

        var filtered = new RoutingTable(new ExchangeInfo
        {
            Name = "f",
            Spec = new ExchangeSpec { Type = ExchangeType.Topic },
            Bindings = [new Binding { Destination = "q1", Key = "a.*" }, new Binding { Destination = "eu", Key = "a.*", Filter = "headers.region == 'eu'" }],
        });
        Message From(string region) => new() { Headers = new Dictionary<string, string> { ["region"] = region } };
        Assert.Equal(["q1", "eu"], filtered.Route("a.b", From("eu")).Select(t => t.Destination));
        Assert.Equal(["q1"], filtered.Route("a.b", From("us")).Select(t => t.Destination));
        Assert.Equal(["q1", "eu"], filtered.Route("a.b", From("eu")).Select(t => t.Destination));
    }

    [Fact]
    public void Routing_table_deduplicates_destinations_and_matches_headers_all_or_any()
    {
        var topic = new RoutingTable(new ExchangeInfo
        {
            Name = "x",
            Spec = new ExchangeSpec { Type = ExchangeType.Topic },
            Bindings = [new Binding { Destination = "q1", Key = "a.#" }, new Binding { Destination = "q1", Key = "#.b" }, new Binding { Destination = "q2", Key = "a.*" }],
        });
        Assert.Equal(["q1", "q2"], topic.Route("a.b", new Message()).Select(t => t.Destination));
        Assert.Equal(["q1"], topic.Route("a", new Message()).Select(t => t.Destination));
        Assert.Empty(topic.Route("c", new Message()).Select(t => t.Destination));

        var headers = new RoutingTable(new ExchangeInfo
        {
            Name = "h",
            Spec = new ExchangeSpec { Type = ExchangeType.Headers },
            Bindings =
            [
                new Binding { Destination = "all", Headers = new Dictionary<string, string> { ["region"] = "eu", ["tier"] = "gold" } },
                new Binding { Destination = "any", Headers = new Dictionary<string, string> { ["region"] = "eu", ["tier"] = "gold" }, Match = HeadersMatch.Any },
            ],
        });
        Assert.Equal(["all", "any"], headers.Route("", new Message { Headers = new Dictionary<string, string> { ["region"] = "eu", ["tier"] = "gold" } }).Select(t => t.Destination));
        Assert.Equal(["any"], headers.Route("", new Message { Headers = new Dictionary<string, string> { ["region"] = "eu" } }).Select(t => t.Destination));
        Assert.Empty(headers.Route("", new Message { Headers = new Dictionary<string, string> { ["region"] = "us" } }).Select(t => t.Destination));
        Assert.Empty(headers.Route("", new Message()).Select(t => t.Destination));
    }
}
