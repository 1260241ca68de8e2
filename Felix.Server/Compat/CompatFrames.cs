using System.Text.Json;
using Felix.Server.Streaming;

namespace Felix.Server.Compat;

/// <summary>
/// The frames of the raw protocol that are not workflow events. Field names follow the design document; every frame
/// has a <c>timestamp</c>.
/// </summary>
internal static class CompatFrames
{
    public static byte[] Connected(string workflowId, string timestamp) => Serialize(new Dictionary<string, object?>
    {
        ["type"] = "connected",
        ["workflow_id"] = workflowId,
        ["message"] = $"Connected to workflow {workflowId} stream",
        ["timestamp"] = timestamp,
    });

    public static byte[] SystemConnected(long connectionId, string timestamp) => Serialize(new Dictionary<string, object?>
    {
        ["type"] = "connected",
        ["message"] = "Connected to system events stream",
        ["connection_id"] = connectionId,
        ["timestamp"] = timestamp,
    });

    /// <summary>
    /// A status, as the original sends it on connect (with task and created_at) and in answer to <c>status</c>: the status
    /// at a position of the stream (where the connection's replay starts; where it has reached). It is a snapshot, not a
    /// stream event: it carries the stream's position but no sequence of its own.
    /// </summary>
    /// When the position a client asked to resume from could not be honoured, <c>replayed_from_start</c> says that the
    /// history that follows starts at the oldest kept event.
    public static byte[] StatusSnapshot(
        string workflowId, string status, string? task, string? createdAt, string epoch, long lastSequence, bool replayedFromStart, string timestamp)
    {
        var frame = new Dictionary<string, object?>
        {
            ["type"] = "workflow_status",
            ["workflow_id"] = workflowId,
            ["status"] = status,
        };
        if (task is not null)
        {
            // The original wrote created_at before task; a client comparing frames byte for byte sees the same.
            frame["created_at"] = createdAt;
            frame["task"] = task;
        }

        frame["epoch"] = epoch;
        frame["last_sequence"] = lastSequence;
        if (replayedFromStart)
        {
            frame["replayed_from_start"] = true;
        }

        frame["timestamp"] = timestamp;
        return Serialize(frame);
    }

    public static byte[] Ping(string timestamp) => Serialize(new Dictionary<string, object?> { ["type"] = "ping", ["timestamp"] = timestamp });

    public static byte[] ConnectionStats(int total, IReadOnlyDictionary<string, int> perWorkflow, int system, string timestamp) =>
        Serialize(new Dictionary<string, object?>
        {
            ["type"] = "connection_stats",
            ["total_connections"] = total,
            ["workflow_connections"] = perWorkflow,
            ["system_connections"] = system,
            ["timestamp"] = timestamp,
        });

    private static byte[] Serialize(Dictionary<string, object?> frame) =>
        JsonSerializer.SerializeToUtf8Bytes(frame, PublishedEvent.SnakeCaseJson);
}
