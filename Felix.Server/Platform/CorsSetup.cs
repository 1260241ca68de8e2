using Microsoft.AspNetCore.Cors.Infrastructure;

namespace Felix.Server.Platform;

/// <summary>
/// Browser origins allowed to call the REST API and the hubs. The original's <c>FELIX_CORS_ORIGINS</c> (comma-separated,
/// <c>*</c> for any) wins over <c>Felix:Cors:Origins</c>; a page opened from disk sends <c>Origin: null</c>, which only
/// <c>*</c> or an explicit <c>null</c> entry admits.
/// </summary>
internal static class CorsSetup
{
    public const string PolicyName = "felix";
    public const string OriginsVariable = "FELIX_CORS_ORIGINS";
    public static readonly string[] DefaultOrigins = ["http://localhost:3000", "http://localhost:8080", "http://localhost:5173"];

    public static IServiceCollection AddFelixCors(this IServiceCollection services)
    {
        services.AddCors();
        // Read when the options are first used, from the built configuration: that is the one every source (environment,
        // command line, a test host's overrides) has reached, not the one AddFelix saw while the host was being built.
        services.AddOptions<CorsOptions>().Configure<IConfiguration>((options, built) => options.AddPolicy(PolicyName, policy =>
        {
            var origins = Origins(built);
            if (origins.Contains("*"))
            {
                policy.AllowAnyOrigin();
            }
            else
            {
                policy.WithOrigins(origins).AllowCredentials();
            }

            policy.AllowAnyHeader().AllowAnyMethod().WithExposedHeaders("Retry-After", "Location");
        }));
        return services;
    }

    public static string[] Origins(IConfiguration configuration)
    {
        var fromVariable = configuration[OriginsVariable];
        if (!string.IsNullOrWhiteSpace(fromVariable))
        {
            return fromVariable.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        var configured = configuration.GetSection("Felix:Cors:Origins").Get<string[]>();
        return configured is { Length: > 0 } ? configured : DefaultOrigins;
    }
}
