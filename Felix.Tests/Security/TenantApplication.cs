using Felix.Tests.Infrastructure;

namespace Felix.Tests.Security;

/// <summary>A server with two tenants and an admin, each with its own key.</summary>
internal static class TenantApplication
{
    public const string KeyA = "key-tenant-a-0001";
    public const string KeyB = "key-tenant-b-0002";
    public const string AdminKey = "key-admin-0003";
    public const string JwtSigningKey = "felix-test-signing-key-with-32-bytes!!";

    public static FelixApplication Create(IDictionary<string, string?>? extra = null, bool kestrel = false)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Felix:Security:ApiKeys:0:Key"] = KeyA,
            ["Felix:Security:ApiKeys:0:Tenant"] = "tenant-a",
            ["Felix:Security:ApiKeys:1:Key"] = KeyB,
            ["Felix:Security:ApiKeys:1:Tenant"] = "tenant-b",
            ["Felix:Security:ApiKeys:2:Key"] = AdminKey,
            ["Felix:Security:ApiKeys:2:Tenant"] = "operations",
            ["Felix:Security:ApiKeys:2:Scopes:0"] = "felix.admin",
            ["Felix:Security:Jwt:SigningKey"] = JwtSigningKey,
            ["Felix:Security:Jwt:Issuer"] = "felix-tests",
            ["Felix:Security:Jwt:Audience"] = "felix",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return new FelixApplication(settings, kestrel);
    }
}
