namespace Felix.Server.Streaming;

/// <summary>
/// A transport that receives every published workflow event (the hubs' group fan-out). Called in sequence order per
/// workflow, after the event is in the log; it must hand the event off quickly and never wait on a single client.
/// </summary>
internal interface IEventSink
{
    ValueTask DeliverAsync(PublishedEvent evt, CancellationToken cancellationToken);

    /// <summary>
    /// The workflow was lost with storage (<see cref="StreamLostException"/>): its listeners here are told, after the
    /// events already handed to them, that nothing more will come.
    /// </summary>
    ValueTask LoseAsync(string workflowId, string epoch);
}
