using System.Text;
using OrleansMQ.Server.Routing;

namespace OrleansMQ.Tests.Unit;

public sealed class MessageFilterTests
{
    private static Message Order(string json, params (string K, string V)[] headers) =>
        new(Encoding.UTF8.GetBytes(json)) { Key = "cust-1", ContentType = "application/json", Headers = headers.ToDictionary(h => h.K, h => h.V) };

    [Theory]
    [InlineData("headers.region == 'eu' && body.amount > 100", true)]
    [InlineData("headers.region == 'eu' && body.amount > 1000", false)]
    [InlineData("headers.region == \"us\" || body.customer.tier == 'gold'", true)]
    [InlineData("!(headers.region == 'eu')", false)]
    [InlineData("headers.priority >= 5", true)]
    [InlineData("headers.priority < 10", true)]
    [InlineData("headers.missing", false)]
    [InlineData("headers.region", true)]
    [InlineData("headers.missing == null", true)]
    [InlineData("body.nope.deeper == null", true)]
    [InlineData("body.amount != 250", false)]
    [InlineData("body.express", true)]
    [InlineData("key == 'cust-1' && content_type == 'application/json'", true)]
    [InlineData("body.customer.name > 'M'", true)]
    [InlineData("headers.missing > 1", false)]
    public void Filters_evaluate_headers_key_and_json_body(string filter, bool expected)
    {
        var m = Order("""{"amount": 250, "express": true, "customer": {"tier": "gold", "name": "Nadia"}}""", ("region", "eu"), ("priority", "7"));
        Assert.Equal(expected, MessageFilter.Parse(filter).Matches(m));
    }

    [Fact]
    public void A_non_json_body_reads_as_null()
    {
        Assert.False(MessageFilter.Parse("body.amount > 1").Matches(Message.FromText("not json")));
        Assert.True(MessageFilter.Parse("body.amount == null").Matches(Message.FromText("not json")));
    }

    [Theory]
    [InlineData("headers.region ==", "expected a value")]
    [InlineData("headers.region == 'eu", "unterminated string")]
    [InlineData("(headers.a", "expected ')'")]
    [InlineData("region == 'eu'", "unknown name 'region'")]
    [InlineData("headers.a == 1 extra", "unexpected")]
    public void Syntax_errors_are_typed_and_say_where(string filter, string message)
    {
        var ex = Assert.Throws<OrleansMQException>(() => MessageFilter.Parse(filter));
        Assert.Equal(ErrorCode.InvalidArgument, ex.Code);
        Assert.Contains(message, ex.Message);
        Assert.Contains("position", ex.Message);
    }
}
