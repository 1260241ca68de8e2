using System.Security.Claims;
using System.Text;
using Felix.Server.Platform;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Felix.Server.Security;

internal static partial class SecurityExtensions
{
    /// <summary>The default scheme: API keys, handing tokens that look like a JWT (when JWT is on) to the JWT scheme.</summary>
    public const string SchemeName = ApiKeyAuthenticationHandler.SchemeName;
    public const string JwtSchemeName = JwtBearerDefaults.AuthenticationScheme;

    public static IServiceCollection AddFelixSecurity(this IServiceCollection services)
    {
        services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.SingleKey = configuration[SecurityOptions.ApiKeyVariable])
            .ValidateSettings(SecurityOptions.SectionName)
            .Validate(o => o.Jwt.ClockSkew >= TimeSpan.Zero && o.Jwt.ClockSkew <= JwtSettings.MaxClockSkew,
                $"{SecurityOptions.SectionName}:Jwt:ClockSkew must be from 00:00:00 to {JwtSettings.MaxClockSkew:c}.")
            // HS256 wants a key as long as its hash; the token library only refuses a shorter one on the first token.
            .Validate(o => o.Jwt.SigningKey is not { Length: > 0 } key || Encoding.UTF8.GetByteCount(key) >= JwtSettings.MinSigningKeyBytes,
                $"{SecurityOptions.SectionName}:Jwt:SigningKey must be at least {JwtSettings.MinSigningKeyBytes} bytes of UTF-8.")
            .Validate(o => o.Jwt.Authority is not { Length: > 0 } authority || IsHttpAddress(authority),
                $"{SecurityOptions.SectionName}:Jwt:Authority must be an absolute http or https address (the OpenID Connect issuer).")
            .ValidateOnStart();
        services.AddSingleton<ApiKeyRing>();
        services.AddSingleton<IStartupCheck, OpenServerCheck>();
        // The API-key handler forwards JWTs itself rather than a policy scheme choosing between the two: a connection's
        // request keeps its authentication handlers for life, and a hub connection lives for hours.
        services.AddAuthentication(SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(SchemeName, options => options.ForwardDefaultSelector = context =>
            {
                var credential = ApiKeyAuthenticationHandler.PresentedCredential(context.Request);
                var jwt = context.RequestServices.GetRequiredService<ApiKeyRing>().JwtEnabled;
                return jwt && credential is not null && credential.Count(c => c == '.') == 2 ? JwtSchemeName : null;
            })
            .AddJwtBearer(JwtSchemeName, options => options.Events = new JwtBearerEvents
            {
                // A refused token is the client's mistake: one line with the validator's reason (its PII hidden), no stack.
                // The handler's own lines, one with the validator's stack, are lowered in Platform/LoggingDefaults, and so
                // are the API key handler's: this line has a category of its own, so Debug on Felix.Server shows it.
                OnAuthenticationFailed = context =>
                {
                    var logger = context.HttpContext.RequestServices.GetRequiredService<ILogger<ApiKeyRing>>();
                    LogTokenRefused(logger, context.Exception.GetType().Name, SafeText.Escape(context.Exception.Message));
                    return Task.CompletedTask;
                },
                // Browsers cannot set headers on WebSockets and SSE: take the token from the query there.
                OnMessageReceived = context =>
                {
                    context.Token ??= ApiKeyAuthenticationHandler.PresentedCredential(context.Request);
                    return Task.CompletedTask;
                },
                OnTokenValidated = context =>
                {
                    var settings = context.HttpContext.RequestServices.GetRequiredService<IOptions<SecurityOptions>>().Value.Jwt;
                    var tenants = context.Principal?.FindAll(settings.TenantClaim).Select(c => c.Value).Distinct(StringComparer.Ordinal).ToList() ?? [];
                    if (tenants is not [{ Length: > 0 }])
                    {
                        // Without a tenant every such user would share one, and see each other's workflows; with two, the
                        // token does not say which.
                        var failure = $"The token must have exactly one '{settings.TenantClaim}' claim.";
                        context.Fail(failure);
                        LogTokenRefused(context.HttpContext.RequestServices.GetRequiredService<ILogger<ApiKeyRing>>(), "tenant", failure);
                        return Task.CompletedTask;
                    }

                    MapClaims(context.Principal!, settings);
                    // Hub and raw connections live past their handshake: they close when this passes.
                    if (context.SecurityToken.ValidTo > DateTime.MinValue)
                    {
                        context.Properties.ExpiresUtc = new DateTimeOffset(DateTime.SpecifyKind(context.SecurityToken.ValidTo, DateTimeKind.Utc));
                    }

                    return Task.CompletedTask;
                },
            });
        services.AddOptions<JwtBearerOptions>(JwtSchemeName).Configure<IOptions<SecurityOptions>>((options, security) =>
        {
            var jwt = security.Value.Jwt;
            options.MapInboundClaims = false;
            options.Authority = jwt.Authority;
            options.RequireHttpsMetadata = jwt.Authority?.StartsWith("https", StringComparison.OrdinalIgnoreCase) ?? true;
            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = jwt.Issuer is not null,
                ValidIssuer = jwt.Issuer,
                ValidateAudience = jwt.Audience is not null,
                ValidAudience = jwt.Audience,
                IssuerSigningKey = jwt.SigningKey is { Length: > 0 } key ? new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)) : null,
                NameClaimType = "sub",
                ClockSkew = jwt.ClockSkew,
            };
        });
        services.AddAuthorization(options => options.AddPolicy(FelixClaims.AdminPolicy, policy => policy.RequireClaim(FelixClaims.Scope, FelixClaims.AdminScope)));
        return services;
    }

    private static bool IsHttpAddress(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    /// <summary>
    /// Token claims to Felix's: the configured tenant claim, and each space-separated scope as its own claim. A token's
    /// own <c>felix:tenant</c> claims are removed first: only <see cref="JwtSettings.TenantClaim"/> decides the tenant,
    /// so a token issued for tenant A cannot name tenant B in a claim of Felix's name.
    /// </summary>
    private static void MapClaims(ClaimsPrincipal principal, JwtSettings settings)
    {
        var identity = (ClaimsIdentity)principal.Identity!;
        var tenant = principal.FindFirst(settings.TenantClaim)!.Value;
        foreach (var own in principal.Identities)
        {
            foreach (var claim in own.FindAll(FelixClaims.Tenant).ToList())
            {
                own.RemoveClaim(claim);
            }
        }

        identity.AddClaim(new Claim(FelixClaims.Tenant, tenant));

        foreach (var scopes in principal.FindAll(FelixClaims.Scope).Select(c => c.Value).ToList())
        {
            foreach (var scope in scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!principal.HasClaim(FelixClaims.Scope, scope))
                {
                    identity.AddClaim(new Claim(FelixClaims.Scope, scope));
                }
            }
        }
    }

    /// <summary>One line at start: how clients authenticate, or a warning that anyone gets in.</summary>
    public static void LogAuthMode(IServiceProvider services, ILogger logger)
    {
        var keys = services.GetRequiredService<ApiKeyRing>();
        var jwt = services.GetRequiredService<IOptions<SecurityOptions>>().Value.Jwt;
        if (keys.IsOpen)
        {
            LogOpen(logger, SecurityOptions.ApiKeyVariable);
            return;
        }

        LogAuth(logger, keys.KeyCount, jwt.Enabled ? jwt.Authority ?? "a shared signing key" : "off", jwt.TenantClaim);
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "No API key is configured: the server is open to anyone. Set {Variable} or Felix:Security:ApiKeys.")]
    private static partial void LogOpen(ILogger logger, string variable);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Debug, Message = "Bearer token refused ({Reason}): {Detail}")]
    private static partial void LogTokenRefused(ILogger logger, string reason, string detail);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Auth: {KeyCount} API key(s); JWT: {Jwt} (tenant claim '{TenantClaim}')")]
    private static partial void LogAuth(ILogger logger, int keyCount, string jwt, string tenantClaim);
}
