using System.Security.Claims;

namespace Felix.Server.Security;

/// <summary>The claims Felix Server reads from a principal, wherever it was authenticated.</summary>
internal static class FelixClaims
{
    public const string Tenant = "felix:tenant";
    public const string Scope = "scope";
    public const string AdminScope = "felix.admin";
    public const string AdminPolicy = "felix-admin";
    /// <summary>May decide approval requests of its tenant's workflows (the admin scope may too, for every tenant).</summary>
    public const string ApproveScope = "felix.approve";
    public const string DefaultTenant = "default";

    public static string TenantOf(ClaimsPrincipal user) => user.FindFirstValue(Tenant) ?? DefaultTenant;

    public static bool IsAdmin(ClaimsPrincipal user) => user.HasClaim(Scope, AdminScope);

    public static bool CanApprove(ClaimsPrincipal user) => IsAdmin(user) || user.HasClaim(Scope, ApproveScope);

    /// <summary>Who a principal is, as a decision records it: the token's subject or the key's name.</summary>
    public static string NameOf(ClaimsPrincipal user) => user.FindFirstValue("sub") ?? user.Identity?.Name ?? "unknown";

    /// <summary>The owner a principal is limited to, or null when it may see every tenant's workflows.</summary>
    public static string? OwnerFilter(ClaimsPrincipal user) => IsAdmin(user) ? null : TenantOf(user);
}
