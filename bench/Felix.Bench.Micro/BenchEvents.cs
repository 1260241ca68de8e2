using Felix.Contracts.Events;

namespace Felix.Bench.Micro;

internal static class BenchEvents
{
    /// <summary>The load generator's event: a 64-character delta, stamped as the publisher stamps it.</summary>
    public static AgentOutputDeltaEvent Delta(string workflowId = "wf_0123456789abcdef", long sequence = 42) => new()
    {
        WorkflowId = workflowId,
        AgentId = "bench-agent",
        Delta = new string('x', 64),
        Index = 41,
        Sequence = sequence,
        Epoch = "a1b2c3d4",
        EventId = "a1b2c3d4-42",
        Timestamp = "2026-11-26T12:00:00.123456Z",
    };
}
