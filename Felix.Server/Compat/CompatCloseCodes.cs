using System.Net.WebSockets;

namespace Felix.Server.Compat;

/// <summary>Close codes and reasons of the raw protocol. Reasons stay under the 123 bytes a close frame allows.</summary>
internal static class CompatCloseCodes
{
    /// <summary>The original's refusal code for a bad key or an unknown workflow.</summary>
    public const WebSocketCloseStatus PolicyViolation = WebSocketCloseStatus.PolicyViolation;

    /// <summary>1013 Try Again Later: the client fell behind; it may reconnect with <c>last_event_id</c>.</summary>
    public const WebSocketCloseStatus SlowConsumer = (WebSocketCloseStatus)1013;

    /// <summary>
    /// 1013 Try Again Later as well: the store (Redis, the database) could not be reached or written. Nothing was lost;
    /// reconnect after the reason's seconds (<see cref="Api.StorageUnavailableProblem.Message(int)"/>, the configured
    /// <c>Felix:Workflows:RetryAfterSeconds</c>), with <c>last_event_id</c> to resume.
    /// </summary>
    public const WebSocketCloseStatus StorageUnavailable = (WebSocketCloseStatus)1013;

    /// <summary>1001 Going Away: the server is shutting down.</summary>
    public const WebSocketCloseStatus GoingAway = WebSocketCloseStatus.EndpointUnavailable;

    /// <summary>
    /// 4001: the JWT the connection was opened with expired. On a workflow's stream nothing was lost: reconnect with a
    /// fresh token and <c>last_event_id</c> to resume.
    /// </summary>
    public const WebSocketCloseStatus CredentialsExpired = (WebSocketCloseStatus)4001;

    public const string CredentialsExpiredReason = "Token expired: reconnect with a fresh token and last_event_id";

    /// <summary>
    /// The system stream keeps no history and takes no <c>last_event_id</c>: what happened while the client was away
    /// is read from REST (<c>/api/v1/agents</c>, <c>/api/v1/workflows</c>), so the reason must not promise a resume.
    /// </summary>
    public const string SystemCredentialsExpiredReason = "Token expired: reconnect with a fresh token; events in between are not replayed";

    /// <summary>
    /// 4004: the workflow's record and history were lost with storage (a Redis without persistence came back empty), so
    /// it no longer exists and its stream can never go on. Reconnecting gets 1008 <see cref="WorkflowNotFound"/>.
    /// </summary>
    public const WebSocketCloseStatus WorkflowLost = (WebSocketCloseStatus)4004;

    public const string WorkflowLostReason = "Workflow lost: its record and history were lost with storage";

    public const string WorkflowNotFound = "Workflow not found";
    public const string WorkflowFinished = "Workflow finished";
    public const string SlowConsumerReason = "Slow consumer: reconnect with last_event_id to resume";
    public const string BinaryNotSupported = "Binary frames are not supported";
    public const string MessageTooBig = "Message too big";
    public const string ServerShutdown = "Server shutting down";
    public const string UnknownEventType = "Unknown event type in types";

    public const string InvalidCredentials = "invalid or expired credentials";
    public const string MissingCredentials = "missing API key";

    /// <summary>A close frame carries at most 123 bytes of reason; longer ones are cut at a character boundary.</summary>
    public const int MaxReasonBytes = 123;

    public static string AuthenticationFailed(string detail) => "Authentication failed: " + detail;

    public static string Fit(string reason)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(reason) <= MaxReasonBytes)
        {
            return reason;
        }

        var length = reason.Length;
        while (length > 0 && System.Text.Encoding.UTF8.GetByteCount(reason.AsSpan(0, length)) > MaxReasonBytes)
        {
            length--;
        }

        // Never split a surrogate pair.
        if (length > 0 && char.IsHighSurrogate(reason[length - 1]))
        {
            length--;
        }

        return reason[..length];
    }
}
