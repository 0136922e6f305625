namespace OrleansMQ.Gateway.Security;

/// <summary>One API key: the secret, who it stands for and what that principal may do.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The secret the client sends (<c>Authorization: ApiKey &lt;key&gt;</c>, <c>X-Api-Key</c>, or STOMP <c>passcode</c>). At least 16 characters.</summary>
    public string Key { get; set; } = "";

    /// <summary>The principal's name: what logs show and limits count under.</summary>
    public string Principal { get; set; } = "";

    /// <summary>Access rules, e.g. <c>produce,consume:topic:orders.*</c> (see <see cref="AccessRule"/>).</summary>
    public List<string> Access { get; set; } = [];

    /// <summary>Roles whose rules (<see cref="GatewaySecurityOptions.Roles"/>) the principal also gets.</summary>
    public List<string> Roles { get; set; } = [];
}
