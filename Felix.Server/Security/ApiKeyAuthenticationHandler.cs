using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Felix.Server.Security;

/// <summary>
/// Authenticates a key from <c>Authorization: Bearer</c>, or from the query where headers cannot be set:
/// <c>access_token</c> (SignalR) and <c>api_key</c> (the raw WebSocket protocol). With no key configured every request
/// is let in as the development principal, like the original without <c>FELIX_API_KEY</c>.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiKeyRing keys,
    IProblemDetailsService problemDetails) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (keys.IsOpen)
        {
            return Task.FromResult(Success(keys.DevelopmentPrincipal));
        }

        var presented = PresentedKey();
        if (string.IsNullOrEmpty(presented))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        return Task.FromResult(keys.Find(presented) is { } principal
            ? Success(principal)
            : AuthenticateResult.Fail("invalid API key"));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await WriteProblemAsync(new ProblemDetails
        {
            Status = StatusCodes.Status401Unauthorized,
            Title = "Unauthorized",
            Detail = PresentedKey() is null
                ? "An API key is required: send 'Authorization: Bearer <key>'."
                : "The API key is not valid.",
        });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await WriteProblemAsync(new ProblemDetails { Status = 403, Title = "Forbidden", Detail = "This key may not do that." });
    }

    /// <summary>
    /// The problem through the problem details service (which writes JSON to clients that ask for JSON or for an event
    /// stream), or as bare JSON when the client accepts neither: a refusal must still be a 401, not a 500.
    /// </summary>
    private async Task WriteProblemAsync(ProblemDetails details)
    {
        if (!await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = Context, ProblemDetails = details }))
        {
            await TypedResults.Problem(details).ExecuteAsync(Context);
        }
    }

    internal static string? PresentedCredential(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header["Bearer ".Length..].Trim();
        }

        return request.Query.TryGetValue("access_token", out var token) ? token.ToString()
            : request.Query.TryGetValue("api_key", out var key) ? key.ToString()
            : null;
    }

    private string? PresentedKey() => PresentedCredential(Request);

    private static AuthenticateResult Success(ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
}

/// <summary>The configured keys, compared in constant time.</summary>
/// <remarks>
/// Each key's principal is built once and shared by every request that presents the key: a hub or raw connection keeps
/// its request's principal for its whole life, and ten thousand copies of the same three claims were half a kilobyte
/// each. Nothing in Felix changes a principal after authentication (there is no claims transformation).
/// </remarks>
internal sealed class ApiKeyRing
{
    private readonly (byte[] Key, ClaimsPrincipal Principal)[] _keys;

    public ApiKeyRing(IOptions<SecurityOptions> options)
    {
        JwtEnabled = options.Value.Jwt.Enabled;
        var entries = options.Value.ApiKeys.Where(k => !string.IsNullOrEmpty(k.Key))
            .Select(e => (e.Key, Principal: Principal(e.Tenant, e.Scopes, e.PrincipalName)))
            .ToList();
        if (options.Value.SingleKey is { Length: > 0 } single)
        {
            entries.Add((single, Principal(FelixClaims.DefaultTenant, [FelixClaims.AdminScope], ApiKeyEntry.SingleKeyPrincipalName)));
        }

        _keys = entries.Select(e => (Encoding.UTF8.GetBytes(e.Key), e.Principal)).ToArray();
    }

    public bool JwtEnabled { get; }

    public int KeyCount => _keys.Length;

    /// <summary>No key and no token issuer configured: development mode, everyone is let in.</summary>
    public bool IsOpen => _keys.Length == 0 && !JwtEnabled;

    /// <summary>Who everyone is in development mode: the default tenant, with the admin scope.</summary>
    public ClaimsPrincipal DevelopmentPrincipal { get; } = Principal(FelixClaims.DefaultTenant, [FelixClaims.AdminScope], "development");

    /// <summary>The principal of the presented key, or null when no configured key matches.</summary>
    public ClaimsPrincipal? Find(string presented)
    {
        var bytes = Encoding.UTF8.GetBytes(presented);
        ClaimsPrincipal? found = null;
        foreach (var (key, principal) in _keys)
        {
            // Look at every key, so timing does not tell which one nearly matched.
            if (CryptographicOperations.FixedTimeEquals(key, bytes))
            {
                found ??= principal;
            }
        }

        return found;
    }

    private static ClaimsPrincipal Principal(string tenant, IEnumerable<string> scopes, string name)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name), new(FelixClaims.Tenant, tenant) };
        claims.AddRange(scopes.Select(s => new Claim(FelixClaims.Scope, s)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthenticationHandler.SchemeName));
    }
}
