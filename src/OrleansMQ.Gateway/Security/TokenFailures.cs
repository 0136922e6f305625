using Microsoft.IdentityModel.Tokens;

namespace OrleansMQ.Gateway.Security;

/// <summary>Short, safe explanations of why a bearer token was refused (no token contents, no key material).</summary>
internal static class TokenFailures
{
    public static string Describe(Exception? failure) => failure switch
    {
        SecurityTokenExpiredException expired => $"The bearer token expired at {expired.Expires:O}.",
        SecurityTokenNotYetValidException notYet => $"The bearer token is not valid before {notYet.NotBefore:O}.",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "The bearer token's signature is not valid.",
        SecurityTokenInvalidIssuerException => "The bearer token's issuer is not accepted.",
        SecurityTokenInvalidAudienceException => "The bearer token's audience is not accepted.",
        SecurityTokenMalformedException or ArgumentException or FormatException => "The bearer token is malformed.",
        null => "The credentials are not valid.",
        _ when failure.Message.StartsWith("The ", StringComparison.Ordinal) => failure.Message,
        _ => $"The bearer token is not valid ({failure.GetType().Name}).",
    };
}
