using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Felix.Server.Security;

/// <summary>Who may use the server (<c>Felix:Security</c>, plus the original's <c>FELIX_API_KEY</c>).</summary>
public sealed class SecurityOptions : IValidatableObject
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

    /// <summary>The value of <see cref="ApiKeyVariable"/>, a root setting rather than one of this section (not bound).</summary>
    internal string? SingleKey { get; set; }

    /// <summary>
    /// Every key must be told apart from the others, or a decision and the limits could not say which one it was: a
    /// name used twice in a tenant, a name that is not a plain word, and a key configured twice (in the list, or as
    /// <see cref="ApiKeyVariable"/> too) are refused at start, one line each, without ever printing a key.
    /// </summary>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        var path = $"{SectionName}:{nameof(ApiKeys)}";
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var keys = new Dictionary<string, int>(StringComparer.Ordinal);
        if (SingleKey is { Length: > 0 } single)
        {
            keys[single] = -1;
        }

        for (var i = 0; i < ApiKeys.Count; i++)
        {
            var entry = ApiKeys[i];
            if (string.IsNullOrEmpty(entry.Key))
            {
                continue; // not a key: the ring leaves it out
            }

            if (!keys.TryAdd(entry.Key, i))
            {
                var first = keys[entry.Key] < 0 ? ApiKeyVariable : $"{nameof(ApiKeys)}:{keys[entry.Key]}";
                yield return new ValidationResult($"{path}:{i}:{nameof(ApiKeyEntry.Key)}: the same key as {first}: each key must be different.");
                continue;
            }

            if (entry.Name is { Length: > 0 } name && !ApiKeyEntry.IsValidName(name))
            {
                yield return new ValidationResult(
                    $"{path}:{i}:{nameof(ApiKeyEntry.Name)}: '{name}' is not a key name: use 1 to {ApiKeyEntry.MaxNameLength} letters, digits, '.', '_' or '-'.");
            }
            else if (!names.TryAdd(entry.PrincipalName, i))
            {
                yield return new ValidationResult(
                    $"{path}:{i}:{nameof(ApiKeyEntry.Name)}: '{entry.NameOrFingerprint}' already names {nameof(ApiKeys)}:{names[entry.PrincipalName]} of tenant '{entry.Tenant}': give each key of a tenant a name of its own.");
            }
        }
    }
}

public sealed partial class ApiKeyEntry
{
    /// <summary>The principal of <c>FELIX_API_KEY</c>, the original's single key: unchanged, as clients and records know it.</summary>
    public const string SingleKeyPrincipalName = "api-key:" + FelixClaims.DefaultTenant;

    /// <summary>Long enough for any label an operator gives a key ("ci", "billing-export-2026").</summary>
    public const int MaxNameLength = 64;

    public string Key { get; set; } = "";
    public string Tenant { get; set; } = FelixClaims.DefaultTenant;

    /// <summary>
    /// Names the key within its tenant: its principal is <c>api-key:{Tenant}:{Name}</c>, which is what an approval's
    /// <c>decided_by</c> records and what the per-principal limits count. Without one, the key's fingerprint stands in.
    /// </summary>
    public string? Name { get; set; }

    public List<string> Scopes { get; set; } = [];

    /// <summary>The key's principal name: <c>api-key:{Tenant}:{Name}</c>.</summary>
    internal string PrincipalName => $"api-key:{Tenant}:{NameOrFingerprint}";

    internal string NameOrFingerprint => Name is { Length: > 0 } name ? name : Fingerprint(Key);

    /// <summary>
    /// The first 8 hex digits of the key's SHA-256: stable across restarts and reordered settings, found again by an
    /// operator with <c>printf %s "$key" | sha256sum | cut -c1-8</c>, and 32 bits say nothing usable about a random key.
    /// </summary>
    internal static string Fingerprint(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)), 0, 4);

    internal static bool IsValidName(string name) => NamePattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex NamePattern();
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

    /// <summary>Clocks kept by NTP disagree by less than a second; a day's skew would keep every expired token alive a day.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromHours(1);

    public bool Enabled => !string.IsNullOrEmpty(Authority) || !string.IsNullOrEmpty(SigningKey);
}
