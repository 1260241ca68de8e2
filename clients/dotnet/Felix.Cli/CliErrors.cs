using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using Felix.Client;
using Microsoft.AspNetCore.SignalR;

namespace Felix.Cli;

/// <summary>Turns what went wrong into one clear line on stderr and an exit code.</summary>
internal static class CliErrors
{
    public static int Report(Exception exception, CliSettings settings, TextWriter error)
    {
        switch (exception)
        {
            case FelixApiException { IsAuthenticationFailure: true } api:
                error.WriteLine($"Error: the server at {settings.Url} refused the API key ({(int)api.StatusCode} {api.Title}). " +
                    (settings.ApiKey is null ? "Pass --api-key or set FELIX_API_KEY." : "Check --api-key or FELIX_API_KEY."));
                return ExitCodes.AuthenticationFailed;
            case HttpRequestException { StatusCode: HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden }:
                error.WriteLine($"Error: the server at {settings.Url} refused the API key. Check --api-key or FELIX_API_KEY.");
                return ExitCodes.AuthenticationFailed;
            case FelixApiException { StatusCode: HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity } api:
                error.WriteLine($"Error: {TerminalText.Line(api.Message)}");
                return ExitCodes.Usage;
            case FelixApiException { StatusCode: HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests } api:
                // Draining for a restart, a full queue, a rate limit: the request was refused, not done; a script can
                // repeat it after the wait the server named (one-shot commands do not wait themselves, docs/clients.md).
                error.WriteLine($"Error: the server at {settings.Url} refused the request for now ({(int)api.StatusCode} {TerminalText.Line(api.Title)})" +
                    (api.RetryAfter is { } wait ? $"; it asks to retry in {Format.Seconds(wait)} s." : "; try again in a few seconds."));
                return ExitCodes.ServerUnreachable;
            case FelixApiException api:
                error.WriteLine($"Error: {TerminalText.Line(api.Message)}");
                return ExitCodes.WorkflowFailed;
            case HubException hub:
                error.WriteLine($"Error: {TerminalText.Line(hub.Message)}");
                return ExitCodes.WorkflowFailed;
            case FelixStreamResetException reset:
                error.WriteLine($"Error: {TerminalText.Line(reset.Message)}");
                return ExitCodes.WorkflowFailed;
            case HttpRequestException { StatusCode: null } or SocketException or TimeoutException or IOException
                or System.Net.WebSockets.WebSocketException:
                error.WriteLine($"Error: cannot reach Felix Server at {settings.Url} ({Innermost(exception).Message}). Is it running? Use --url to point elsewhere.");
                return ExitCodes.ServerUnreachable;
            case HttpRequestException { StatusCode: HttpStatusCode.ServiceUnavailable }:
                // The hub refuses new connections while the server drains (SIGTERM) or is overloaded; it comes back.
                error.WriteLine($"Error: the server at {settings.Url} is not taking connections now (503 Service Unavailable): " +
                    "it is shutting down or busy. Try again in a few seconds.");
                return ExitCodes.ServerUnreachable;
            case HttpRequestException http:
                error.WriteLine($"Error: the server at {settings.Url} answered {(int?)http.StatusCode} {http.StatusCode}.");
                return ExitCodes.WorkflowFailed;
            default:
                ExceptionDispatchInfo.Throw(exception);
                return ExitCodes.WorkflowFailed;
        }
    }

    private static Exception Innermost(Exception exception)
    {
        while (exception.InnerException is { } inner)
        {
            exception = inner;
        }

        return exception;
    }
}
