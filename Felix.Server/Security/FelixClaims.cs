using System.Security.Claims;

namespace Felix.Server.Security;

/// <summary>The claims Felix Server reads from a principal, wherever it was authenticated.</summary>
internal static class FelixClaims
{
    public const string Tenant = "felix:tenant";
    public const string Scope = "scope";
    public const string AdminScope = "felix.admin";
    public const string AdminPolicy = "felix-admin";
    public const string DefaultTenant = "default";

    public static string TenantOf(ClaimsPrincipal user) => user.FindFirstValue(Tenant) ?? DefaultTenant;

    public static bool IsAdmin(ClaimsPrincipal user) => user.HasClaim(Scope, AdminScope);

    /// <summary>The owner a principal is limited to, or null when it may see every tenant's workflows.</summary>
    public static string? OwnerFilter(ClaimsPrincipal user) => IsAdmin(user) ? null : TenantOf(user);
}
