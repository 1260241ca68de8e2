using System.Security.Claims;
using Felix.Server.Platform;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace Felix.Server.Security;

/// <summary>
/// ASP.NET Core's authentication middleware, except for WebSocket upgrades to the streaming endpoints, which are
/// authenticated the same way (the same schemes, result, user and features) with the authentication services of a scope
/// of their own, disposed before the request goes on, and without a state machine waiting on the rest of the pipeline.
/// </summary>
/// <remarks>
/// An upgrade's request lasts as long as its connection. Through the framework's middleware every idle hub and raw
/// connection kept, for its whole life, the middleware's waiting state machine and, in the request's scope, the
/// authentication service, its handler provider and the handlers with their cached results (about 0.9 KiB a
/// connection, most of what Felix held per connection beyond the bare servers). Whatever needs a handler later (a
/// challenge or a forbid from the authorization middleware) gets a new one from the request's own scope, as a second
/// scheme would.
/// </remarks>
internal static class StreamingAuthentication
{
    // UseAuthentication sets it; WebApplication adds its own authentication middleware in front when it is not set.
    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";

    public static IApplicationBuilder UseFelixAuthentication(this IApplicationBuilder app)
    {
        app.Properties[AuthenticationMiddlewareSetKey] = true;
        var schemes = app.ApplicationServices.GetRequiredService<IAuthenticationSchemeProvider>();
        return app.Use(next =>
        {
            var framework = new AuthenticationMiddleware(next, schemes);
            return context => StreamingRequests.IsStreamUpgrade(context) ? UpgradeAsync(context, next, schemes) : framework.Invoke(context);
        });
    }

    private static Task UpgradeAsync(HttpContext context, RequestDelegate next, IAuthenticationSchemeProvider schemes)
    {
        var authenticated = AuthenticateAsync(context, schemes);
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

    /// <summary>What <see cref="AuthenticationMiddleware"/> does before calling the next middleware; false when a request handler answered the request.</summary>
    private static async Task<bool> AuthenticateAsync(HttpContext context, IAuthenticationSchemeProvider schemes)
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

            return true;
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
