namespace Felix.Server.Security;

/// <summary>Who may use the server (<c>Felix:Security</c>, plus the original's <c>FELIX_API_KEY</c>).</summary>
public sealed class SecurityOptions
{
    public const string SectionName = "Felix:Security";

    /// <summary>The original's variable: one key with full rights.</summary>
    public const string ApiKeyVariable = "FELIX_API_KEY";

    /// <summary>Keys, each for a tenant with scopes. With none, no JWT settings and no <c>FELIX_API_KEY</c> the server runs open.</summary>
    public List<ApiKeyEntry> ApiKeys { get; set; } = [];

    /// <summary>
    /// Lets a Production server start with no credentials configured (everyone gets in as the development principal).
    /// Without it such a server refuses to start; other environments are open with a warning either way.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>JWT bearer tokens, as the original planned; off unless a signing key or an authority is set.</summary>
    public JwtSettings Jwt { get; set; } = new();
}

public sealed class ApiKeyEntry
{
    public string Key { get; set; } = "";
    public string Tenant { get; set; } = FelixClaims.DefaultTenant;
    public List<string> Scopes { get; set; } = [];
}

public sealed class JwtSettings
{
    /// <summary>An OpenID Connect authority whose keys sign the tokens.</summary>
    public string? Authority { get; set; }

    /// <summary>A shared HMAC key (at least <see cref="MinSigningKeyBytes"/> bytes of UTF-8) for HS256 tokens, when there is no authority.</summary>
    public string? SigningKey { get; set; }

    /// <summary>HS256's hash is 256 bits: a shorter key weakens it, and the token library refuses one.</summary>
    public const int MinSigningKeyBytes = 32;

    public string? Issuer { get; set; }

    public string? Audience { get; set; }

    /// <summary>The claim that names the tenant; the only one that does (a token's own <c>felix:tenant</c> is ignored).</summary>
    public string TenantClaim { get; set; } = "tenant";

    /// <summary>
    /// How far past its expiry (or before its start) a token is still accepted, for clocks that disagree a little.
    /// Issuers and servers keep time by NTP; the library's five minutes would keep a revoked session alive that long.
    /// </summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(DefaultClockSkewSeconds);

    public const int DefaultClockSkewSeconds = 30;

    public bool Enabled => !string.IsNullOrEmpty(Authority) || !string.IsNullOrEmpty(SigningKey);
}
