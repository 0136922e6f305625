using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OrleansMQ.Gateway.Security;
using OrleansMQ.Management.Login;

namespace OrleansMQ.Management.Pages;

/// <summary>Sign in with an API key or a JWT (the gateway's credentials), or sign out.</summary>
public sealed class LoginModel(IGatewayAuthenticator authenticator) : PageModel
{
    /// <summary>Where to go after signing in (a local path).</summary>
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>Why the last attempt failed.</summary>
    public string? Error { get; private set; }

    /// <summary>Shows the form (and who is signed in).</summary>
    public void OnGet()
    {
    }

    /// <summary>Checks the credential and issues the cookie.</summary>
    public async Task<IActionResult> OnPostAsync([FromForm] string? credential, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(credential))
        {
            Error = "Enter an API key or a JWT.";
            return Page();
        }

        try
        {
            var user = await authenticator.AuthenticateAsync(credential.Trim(), cancellationToken);
            if (user.Identity?.IsAuthenticated != true)
            {
                Error = "Unauthorized: the credential was not accepted.";
                return Page();
            }

            await ManagementLogin.SignInAsync(HttpContext, user);
        }
        catch (OrleansMQException ex) when (ex.Code == ErrorCode.Unauthorized)
        {
            Error = $"{ex.Code}: {ex.Message}";
            return Page();
        }

        return LocalRedirect(ReturnUrl is { } url && Url.IsLocalUrl(url) && url.StartsWith("/ui", StringComparison.Ordinal) ? url : "/ui");
    }

    /// <summary>Removes the cookie.</summary>
    public async Task<IActionResult> OnPostLogoutAsync()
    {
        await HttpContext.SignOutAsync(ManagementLogin.Scheme);
        return LocalRedirect(ManagementLogin.LoginPath + "?message=" + Uri.EscapeDataString("Signed out."));
    }
}
