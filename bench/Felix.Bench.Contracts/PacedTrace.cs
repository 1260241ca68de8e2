using System.Text.Json;
using System.Text.Json.Serialization;

namespace Felix.Bench.Contracts;

/// <summary>
/// What one client of each workflow received during a paced run of the real server: every frame, byte for byte, at the
/// offset from the run's start at which the server published it. The bare servers replay it: the same frames, to as many
/// clients per workflow, at the same offsets.
/// </summary>
/// <param name="Transport"><c>raw</c> (JSON text frames) or <c>messagepack</c> (hub messages with their length prefix).</param>
/// <param name="Workflows">Each workflow's frames in the order its client received them.</param>
public sealed record PacedTrace(
    [property: JsonPropertyName("transport")] string Transport,
    [property: JsonPropertyName("workflows")] IReadOnlyList<IReadOnlyList<TracedFrame>> Workflows)
{
    public int FrameCount => Workflows.Sum(w => w.Count);

    /// <summary>
    /// Every frame in the order to send it, up to <paramref name="until"/> (all when null): by offset, with each
    /// workflow's frames kept in the order received. A frame whose offset runs backwards (one without a timestamp,
    /// placed at its receipt) goes with the frame before it, so a workflow's terminal event stays its last frame.
    /// </summary>
    public List<ScheduledFrame> Schedule(TimeSpan? until = null)
    {
        var schedule = new List<ScheduledFrame>(FrameCount);
        for (var w = 0; w < Workflows.Count; w++)
        {
            var previous = 0L;
            foreach (var frame in Workflows[w])
            {
                previous = Math.Max(previous, frame.OffsetMicros);
                if (until is { } end && previous >= end.Ticks / TimeSpan.TicksPerMicrosecond)
                {
                    break;
                }

                schedule.Add(new ScheduledFrame(previous, w, frame.Data));
            }
        }

        // A stable sort: frames of one workflow at the same offset keep their order.
        return [.. schedule.OrderBy(f => f.OffsetMicros)];
    }

    public async Task WriteAsync(string path)
    {
        await using var file = File.Create(path);
        await JsonSerializer.SerializeAsync(file, this);
    }

    public static async Task<PacedTrace> ReadAsync(string path)
    {
        await using var file = File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync<PacedTrace>(file) ?? throw new InvalidDataException($"{path} holds no trace.");
    }
}

/// <summary>One frame of a trace: its bytes (base64 in the file) and when it was published, in µs from the run's start.</summary>
public sealed record TracedFrame(
    [property: JsonPropertyName("offsetUs")] long OffsetMicros,
    [property: JsonPropertyName("data")] byte[] Data);

/// <summary>A frame of workflow <paramref name="Workflow"/> (its index in the trace), due at <paramref name="OffsetMicros"/>.</summary>
public readonly record struct ScheduledFrame(long OffsetMicros, int Workflow, byte[] Data);

/// <summary><c>POST /api/v1/bench/trace</c> of the bare server: the trace file to replay and the workflow each of its workflows goes to.</summary>
public sealed record BenchTraceRequest(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("workflowIds")] IReadOnlyList<string> WorkflowIds);
