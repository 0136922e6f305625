using System.Runtime.CompilerServices;
using System.Security.Claims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansMQ.Gateway.Security;

/// <summary>
/// Evaluates access rules: an authenticated principal's rules are its access claims plus the rules of its roles;
/// an anonymous caller's are <see cref="GatewaySecurityOptions.AnonymousAccess"/> when anonymous access is allowed.
/// A principal's parsed rules are cached with the principal, so a STOMP session pays for parsing once.
/// </summary>
internal sealed partial class GatewayAuthorizer : IGatewayAuthorizer
{
    private const string Anonymous = "anonymous";
    private readonly GatewaySecurityOptions _options;
    private readonly ILogger<GatewayAuthorizer> _logger;
    private readonly IReadOnlyList<AccessRule> _anonymousRules;
    private readonly Dictionary<string, IReadOnlyList<AccessRule>> _roleRules;
    private readonly ConditionalWeakTable<ClaimsPrincipal, IReadOnlyList<AccessRule>> _cache = [];

    public GatewayAuthorizer(IOptions<OrleansMQGatewayOptions> options, ILogger<GatewayAuthorizer> logger)
    {
        _options = options.Value.Security;
        _logger = logger;
        _anonymousRules = _options.AllowAnonymous ? AccessRule.ParseAll(_options.EffectiveAnonymousAccess) : [];
        _roleRules = _options.Roles.ToDictionary(r => r.Key, r => AccessRule.ParseAll(r.Value), StringComparer.Ordinal);
    }

    public void Authorize(ClaimsPrincipal? principal, GatewayAction action, GatewayResourceKind kind, string name)
    {
        RequireAuthenticated(principal);
        if (!RulesOf(principal).Any(r => r.Allows(action, kind, name)))
        {
            throw new OrleansMQException(ErrorCode.Forbidden,
                $"Principal '{PrincipalName(principal)}' may not {action.ToString().ToLowerInvariant()} {kind.ToString().ToLowerInvariant()} '{name}': no access rule allows it.");
        }
    }

    public bool IsAllowed(ClaimsPrincipal? principal, GatewayAction action, GatewayResourceKind kind, string name) =>
        (IsAuthenticated(principal) || _options.AllowAnonymous) && RulesOf(principal).Any(r => r.Allows(action, kind, name));

    public void RequireAuthenticated(ClaimsPrincipal? principal)
    {
        if (!IsAuthenticated(principal) && !_options.AllowAnonymous)
        {
            throw new OrleansMQException(ErrorCode.Unauthorized,
                "Credentials are required: an API key (Authorization: ApiKey <key>, X-Api-Key, or STOMP passcode) or a bearer token (Authorization: Bearer <jwt>, or STOMP passcode).");
        }
    }

    public string PrincipalName(ClaimsPrincipal? principal) =>
        IsAuthenticated(principal) ? principal!.Identity!.Name ?? "(unnamed)" : Anonymous;

    private static bool IsAuthenticated(ClaimsPrincipal? principal) => principal?.Identity?.IsAuthenticated == true;

    private IReadOnlyList<AccessRule> RulesOf(ClaimsPrincipal? principal) =>
        !IsAuthenticated(principal) ? _anonymousRules : _cache.GetValue(principal!, Parse);

    private IReadOnlyList<AccessRule> Parse(ClaimsPrincipal principal)
    {
        var rules = new List<AccessRule>();
        foreach (var claim in principal.FindAll(_options.Jwt.AccessClaim))
        {
            try
            {
                rules.Add(AccessRule.Parse(claim.Value));
            }
            catch (FormatException ex)
            {
                LogBadRule(_logger, PrincipalName(principal), ex.Message);
            }
        }

        foreach (var identity in principal.Identities.Where(i => i.IsAuthenticated))
        {
            foreach (var role in identity.FindAll(identity.RoleClaimType))
            {
                if (_roleRules.TryGetValue(role.Value, out var roleRules))
                {
                    rules.AddRange(roleRules);
                }
            }
        }

        return rules;
    }

    [LoggerMessage(3201, LogLevel.Warning, "Principal {Principal}: ignoring a malformed access rule: {Problem}")]
    private static partial void LogBadRule(ILogger logger, string principal, string problem);
}
