using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.SignalR;

namespace Felix.Server.Hubs;

/// <summary>
/// Closes a hub connection when the JWT it was opened with expires, so no connection lives on a dead credential; the
/// client reconnects through its token factory and resumes from its last sequence. Keys do not expire.
/// </summary>
/// <remarks>
/// SignalR's <c>CloseOnAuthenticationExpiration</c> is on as well, but it acts only when the connection is used; a
/// connection that only listens would stay open. This timer closes it on time.
/// </remarks>
internal static class HubConnectionExpiry
{
    private static readonly object TimerKey = new();

    /// <summary>The longest a timer takes (about 49 days); a token valid for longer is checked again at the next connect.</summary>
    private static readonly TimeSpan MaxTimer = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    public static void Start(HubCallerContext context, TimeProvider time)
    {
        if (ExpiresAt(context.User) is not { } expiresAt)
        {
            return;
        }

        var left = expiresAt - time.GetUtcNow();
        var timer = new CancellationTokenSource(left <= TimeSpan.Zero ? TimeSpan.Zero : left > MaxTimer ? MaxTimer : left, time);
        timer.Token.Register(static state => ((HubCallerContext)state!).Abort(), context);
        context.Items[TimerKey] = timer;
    }

    public static void Stop(HubCallerContext context)
    {
        if (context.Items.TryGetValue(TimerKey, out var timer))
        {
            ((CancellationTokenSource)timer!).Dispose();
        }
    }

    private static readonly long MaxUnixSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    /// <summary>
    /// A token's <c>exp</c> (claims are kept as the token has them); null for a key's principal. An <c>exp</c> past
    /// the year 9999, which the token validation accepts, is the end of time here: it must not fail the connection.
    /// </summary>
    internal static DateTimeOffset? ExpiresAt(ClaimsPrincipal? user) =>
        user?.FindFirst("exp")?.Value is { } exp && long.TryParse(exp, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
            ? seconds >= MaxUnixSeconds ? DateTimeOffset.MaxValue : DateTimeOffset.FromUnixTimeSeconds(Math.Max(seconds, 0))
            : null;
}
