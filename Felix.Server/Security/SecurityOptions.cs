namespace Felix.Server.Security;

/// <summary>Who may use the server (<c>Felix:Security</c>, plus the original's <c>FELIX_API_KEY</c>).</summary>
public sealed class SecurityOptions
{
    public const string SectionName = "Felix:Security";

    /// <summary>The original's variable: one key with full rights.</summary>
    public const string ApiKeyVariable = "FELIX_API_KEY";

    /// <summary>Keys, each for a tenant with scopes. With none (and no <c>FELIX_API_KEY</c>) the server runs open.</summary>
    public List<ApiKeyEntry> ApiKeys { get; set; } = [];
}

public sealed class ApiKeyEntry
{
    public string Key { get; set; } = "";
    public string Tenant { get; set; } = FelixClaims.DefaultTenant;
    public List<string> Scopes { get; set; } = [];
}
