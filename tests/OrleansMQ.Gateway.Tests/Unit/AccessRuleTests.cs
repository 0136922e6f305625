using System.Security.Claims;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OrleansMQ.Gateway.Security;

namespace OrleansMQ.Gateway.Tests.Unit;

/// <summary>Access rule syntax, glob matching and the authorizer's decisions, in process.</summary>
public sealed class AccessRuleTests
{
    [Theory]
    [InlineData("orders.*", "orders.eu", true)]
    [InlineData("orders.*", "orders.eu.created", true)]
    [InlineData("orders.*", "orders", false)]
    [InlineData("orders.*", "ordersx", false)]
    [InlineData("*", "anything", true)]
    [InlineData("*.dlq", "jobs.queue.dlq", true)]
    [InlineData("*.dlq", "jobs.queue.dlqx", false)]
    [InlineData("job?", "jobs", true)]
    [InlineData("job?", "job", false)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    [InlineData("exact", "exact", true)]
    [InlineData("exact", "Exact", false)]
    public void Patterns_are_globs(string pattern, string name, bool matches) =>
        Assert.Equal(matches, AccessRule.Parse($"*:*:{pattern}").Allows(GatewayAction.Produce, GatewayResourceKind.Topic, name));

    [Fact]
    public void A_rule_grants_only_its_actions_and_kinds()
    {
        var rule = AccessRule.Parse("produce,consume:queue:jobs.*");

        Assert.True(rule.Allows(GatewayAction.Produce, GatewayResourceKind.Queue, "jobs.a"));
        Assert.True(rule.Allows(GatewayAction.Consume, GatewayResourceKind.Queue, "jobs.a"));
        Assert.False(rule.Allows(GatewayAction.Admin, GatewayResourceKind.Queue, "jobs.a"));
        Assert.False(rule.Allows(GatewayAction.Produce, GatewayResourceKind.Topic, "jobs.a"));
        Assert.False(rule.Allows(GatewayAction.Produce, GatewayResourceKind.Exchange, "jobs.a"));
    }

    [Theory]
    [InlineData("produce:topic", "must be actions:kind:pattern")]
    [InlineData("publish:topic:x", "action 'publish'")]
    [InlineData("produce:stream:x", "kind 'stream'")]
    [InlineData("produce:topic:", "must be actions:kind:pattern")]
    public void Malformed_rules_are_refused_naming_the_problem(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<FormatException>(() => AccessRule.Parse(text)).Message);

    [Fact]
    public void Anonymous_callers_are_refused_unless_anonymous_access_is_allowed()
    {
        var byDefault = Authorizer(new OrleansMQGatewayOptions());
        var open = Authorizer(new OrleansMQGatewayOptions { Security = { AllowAnonymous = true, AnonymousAccess = ["consume:topic:public.*"] } });

        Assert.Equal(ErrorCode.Unauthorized, Assert.Throws<OrleansMQException>(() => byDefault.Authorize(null, GatewayAction.Consume, GatewayResourceKind.Topic, "public.news")).Code);
        open.Authorize(null, GatewayAction.Consume, GatewayResourceKind.Topic, "public.news");
        var denied = Assert.Throws<OrleansMQException>(() => open.Authorize(new ClaimsPrincipal(new ClaimsIdentity()), GatewayAction.Produce, GatewayResourceKind.Topic, "public.news"));
        Assert.Equal(ErrorCode.Forbidden, denied.Code);
        Assert.Equal("Principal 'anonymous' may not produce topic 'public.news': no access rule allows it.", denied.Message);
    }

    [Fact]
    public void A_principal_gets_its_access_claims_and_the_rules_of_its_roles()
    {
        var authorizer = Authorizer(new OrleansMQGatewayOptions { Security = { Roles = { ["auditor"] = ["consume:*:*"] } } });
        var principal = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim("sub", "svc"), new Claim("omq_access", "produce:topic:orders.*"), new Claim("omq_access", "not a rule"), new Claim("role", "auditor")],
            "test", "sub", "role"));

        Assert.True(authorizer.IsAllowed(principal, GatewayAction.Produce, GatewayResourceKind.Topic, "orders.eu"));
        Assert.True(authorizer.IsAllowed(principal, GatewayAction.Consume, GatewayResourceKind.Exchange, "x"));
        Assert.False(authorizer.IsAllowed(principal, GatewayAction.Admin, GatewayResourceKind.Topic, "orders.eu"));
        Assert.Equal("svc", authorizer.PrincipalName(principal));
    }

    private static GatewayAuthorizer Authorizer(OrleansMQGatewayOptions options) =>
        new(Options.Create(options), NullLogger<GatewayAuthorizer>.Instance);
}
