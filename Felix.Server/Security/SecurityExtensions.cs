namespace Felix.Server.Security;

internal static partial class SecurityExtensions
{
    public static IServiceCollection AddFelixSecurity(this IServiceCollection services)
    {
        services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.SectionName);
        services.AddSingleton<ApiKeyRing>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization();
        return services;
    }

    public static void WarnIfOpen(this WebApplication app)
    {
        if (app.Services.GetRequiredService<ApiKeyRing>().IsOpen)
        {
            LogOpen(app.Logger, SecurityOptions.ApiKeyVariable);
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "No API key is configured: the server is open to anyone (development mode). Set {Variable} or Felix:Security:ApiKeys.")]
    private static partial void LogOpen(ILogger logger, string variable);
}
