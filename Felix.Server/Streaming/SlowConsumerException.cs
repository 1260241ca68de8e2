namespace Felix.Server.Streaming;

/// <summary>A subscriber fell so far behind that its send queue filled up; it was dropped and may resume from history.</summary>
internal sealed class SlowConsumerException(int capacity)
    : Exception($"Slow consumer: more than {capacity} events were waiting to be sent. Reconnect and resume from the last event received.");
