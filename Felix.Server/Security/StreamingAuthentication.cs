using System.Security.Claims;
using Felix.Server.Platform;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace Felix.Server.Security;

/// <summary>
/// ASP.NET Core's authentication and authorization middlewares, except that for WebSocket upgrades to the streaming
/// endpoints both run with the services of a scope of their own, disposed before the request goes on, and neither waits on
/// the rest of the pipeline: the upgrade is authenticated the same way (the same schemes, result, user and features) and
/// then authorized by the framework's own middleware, whose next step only notes that it was let through.
/// </summary>
/// <remarks>
/// An upgrade's request lasts as long as its connection. Through the framework's middleware every idle hub and raw
/// connection kept, for its whole life, the middleware's waiting state machine and, in the request's scope, the
/// authentication service, its handler provider and the handlers with their cached results, and the authorization
/// middleware's waiting state machine with the evaluator, authorization service and handlers it had resolved (about
/// 1.3 KiB a hub connection, most of what Felix held per connection beyond the bare servers). A challenge or a forbid
/// is written inside the scope, as before.
/// </remarks>
internal static class StreamingAuthentication
{
    // UseAuthentication and UseAuthorization set them; WebApplication adds its own middlewares in front when they are not set.
    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";
    private const string AuthorizationMiddlewareSetKey = "__AuthorizationMiddlewareSet";

    private static readonly object Authorized = new();

    /// <summary>In place of <c>UseAuthentication()</c> and <c>UseAuthorization()</c>, one after the other.</summary>
    public static IApplicationBuilder UseAuthenticationAndAuthorization(this IApplicationBuilder app)
    {
        app.Properties[AuthenticationMiddlewareSetKey] = true;
        app.Properties[AuthorizationMiddlewareSetKey] = true;
        var schemes = app.ApplicationServices.GetRequiredService<IAuthenticationSchemeProvider>();
        var authorizeUpgrade = app.New().UseAuthorization();
        authorizeUpgrade.Run(static context =>
        {
            context.Items[Authorized] = Authorized;
            return Task.CompletedTask;
        });
        var upgradeAuthorization = authorizeUpgrade.Build();
        return app.Use(next =>
        {
            var framework = app.New().UseAuthentication().UseAuthorization();
            framework.Run(next);
            var frameworkPipeline = framework.Build();
            return context => StreamingRequests.IsStreamUpgrade(context)
                ? UpgradeAsync(context, next, schemes, upgradeAuthorization)
                : frameworkPipeline(context);
        });
    }

    private static Task UpgradeAsync(HttpContext context, RequestDelegate next, IAuthenticationSchemeProvider schemes, RequestDelegate authorize)
    {
        var authenticated = AuthenticateAsync(context, schemes, authorize);
        if (authenticated.IsCompletedSuccessfully)
        {
            return authenticated.Result ? next(context) : Task.CompletedTask;
        }

        return ThenAsync(authenticated, context, next);

        static async Task ThenAsync(Task<bool> authenticated, HttpContext context, RequestDelegate next)
        {
            if (await authenticated)
            {
                await next(context);
            }
        }
    }

    /// <summary>
    /// What <see cref="AuthenticationMiddleware"/> does before calling the next middleware, then the authorization
    /// middleware; false when the request was answered (by a request handler, a challenge or a forbid).
    /// </summary>
    private static async Task<bool> AuthenticateAsync(HttpContext context, IAuthenticationSchemeProvider schemes, RequestDelegate authorize)
    {
        context.Features.Set<IAuthenticationFeature>(new AuthenticationFeature
        {
            OriginalPath = context.Request.Path,
            OriginalPathBase = context.Request.PathBase,
        });

        var requestServices = context.RequestServices;
        await using var scope = requestServices.GetRequiredService<IServiceScopeFactory>().CreateAsyncScope();
        // The services look themselves up through the request (a forwarded scheme does too): all of them from this scope.
        context.RequestServices = scope.ServiceProvider;
        try
        {
            var handlers = scope.ServiceProvider.GetRequiredService<IAuthenticationHandlerProvider>();
            foreach (var scheme in await schemes.GetRequestHandlerSchemesAsync())
            {
                if (await handlers.GetHandlerAsync(context, scheme.Name) is IAuthenticationRequestHandler handler && await handler.HandleRequestAsync())
                {
                    return false;
                }
            }

            if (await schemes.GetDefaultAuthenticateSchemeAsync() is { } defaultAuthenticate)
            {
                var result = await context.AuthenticateAsync(defaultAuthenticate.Name);
                if (result?.Principal is { } principal)
                {
                    context.User = principal;
                }

                if (result?.Succeeded ?? false)
                {
                    var features = new AuthenticationFeatures(result);
                    context.Features.Set<IHttpAuthenticationFeature>(features);
                    context.Features.Set<IAuthenticateResultFeature>(features);
                }
            }

            await authorize(context);
            return context.Items.Remove(Authorized);
        }
        finally
        {
            context.RequestServices = requestServices;
        }
    }

    /// <summary>As the framework's (internal) type: the result, and the user it stands for until the user is set anew.</summary>
    private sealed class AuthenticationFeatures(AuthenticateResult result) : IAuthenticateResultFeature, IHttpAuthenticationFeature
    {
        private ClaimsPrincipal? _user = result.Principal;
        private AuthenticateResult? _result = result;

        public AuthenticateResult? AuthenticateResult
        {
            get => _result;
            set
            {
                _result = value;
                _user = _result?.Principal;
            }
        }

        public ClaimsPrincipal? User
        {
            get => _user;
            set
            {
                _user = value;
                _result = null;
            }
        }
    }
}
