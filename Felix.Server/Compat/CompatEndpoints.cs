using System.Net.WebSockets;
using Felix.Server.Platform;
using Felix.Server.Security;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Felix.Server.Compat;

/// <summary>
/// The raw WebSocket endpoints of the original design document, byte for byte: one JSON object per text frame,
/// refusals as a 1008 close with the original's reasons.
/// </summary>
internal static partial class CompatEndpoints
{
    public const string RawStreamsPrefix = "/api/v1/ws";
    public const string WorkflowStreamPattern = "/api/v1/ws/workflows/{workflowId}";
    public const string SystemStreamPattern = "/api/v1/ws/system/events";

    /// <summary>The time left until <paramref name="expiresAt"/>, as a timer can take it (at most about 49 days).</summary>
    public static TimeSpan UntilExpiry(DateTimeOffset expiresAt, TimeProvider time)
    {
        var left = expiresAt - time.GetUtcNow();
        return left <= TimeSpan.Zero ? TimeSpan.Zero : left > MaxTimer ? MaxTimer : left;
    }

    private static readonly TimeSpan MaxTimer = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    public static IServiceCollection AddCompat(this IServiceCollection services)
    {
        services.AddOptions<CompatOptions>().BindConfiguration(CompatOptions.SectionName).ValidateSettings(CompatOptions.SectionName).ValidateOnStart();
        services.AddSingleton<CompatConnections>();
        services.AddSingleton<CompatSendWatchdog>();
        services.AddSingleton<CompatWorkflowStream>();
        services.AddSingleton<CompatSystemStream>();
        return services;
    }

    public static IEndpointRouteBuilder MapCompatWebSockets(this IEndpointRouteBuilder app)
    {
        // Each stream accepts its own socket: a wrapper awaiting the stream would be one more state machine (and a closure)
        // held for the life of every connection.
        app.Map(WorkflowStreamPattern, (HttpContext context, string workflowId, CompatWorkflowStream stream) => stream.RunAsync(context, workflowId))
            .RequireStreamingAdmission()
            .ExcludeFromDescription();
        app.Map(SystemStreamPattern, (HttpContext context, CompatSystemStream stream) => stream.RunAsync(context))
            .RequireStreamingAdmission()
            .ExcludeFromDescription();
        return app;
    }

    /// <summary>
    /// Accepts the upgrade of a raw stream and authenticates it. Returns null when the request was answered here (not an
    /// upgrade, or refused with 1008 and the original's reason); otherwise the socket and when its credential expires
    /// (a JWT's <c>exp</c>; null for keys, which do not).
    /// </summary>
    /// <remarks>
    /// The authentication middleware's result is used when it succeeded; authenticating again would keep a second
    /// result and ticket for the life of the connection. Nothing of this method stays alive once it returns.
    /// </remarks>
    public static async Task<(WebSocket Socket, DateTimeOffset? ExpiresAt)?> AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Results.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "WebSocket upgrade expected",
                detail: "This endpoint speaks the raw WebSocket protocol; connect with a WebSocket client.").ExecuteAsync(context);
            return null;
        }

        var options = context.RequestServices.GetRequiredService<IOptions<CompatOptions>>().Value;
        var streaming = context.RequestServices.GetRequiredService<IOptions<StreamingOptions>>().Value;
        var auth = context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult is { Succeeded: true } authenticated
            ? authenticated
            : await context.AuthenticateAsync();
        var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            DangerousEnableCompression = options.EnableCompression,
            KeepAliveInterval = streaming.PingInterval,
            KeepAliveTimeout = streaming.DeadConnectionTimeout,
        });
        if (!auth.Succeeded)
        {
            using (socket)
            {
                // The original refuses with 1008 and this reason; accepting first lets the client read both.
                // The reason says what kind of failure it was, never the validator's details (token times, key ids).
                var detail = auth.Failure is null ? CompatCloseCodes.MissingCredentials : CompatCloseCodes.InvalidCredentials;
                await new CompatSocket(socket, options, TimeProvider.System)
                    .CloseAsync(CompatCloseCodes.PolicyViolation, CompatCloseCodes.AuthenticationFailed(detail));
            }

            return null;
        }

        context.User = auth.Principal!;
        return (socket, auth.Properties?.ExpiresUtc);
    }
}
