using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Threading.Channels;
using Felix.Contracts;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

/// <summary>
/// Bare Kestrel sending the same bytes as a SignalR hub to the same clients: on the hub's path, a plain WebSocket that
/// answers SignalR's handshake and a <c>Subscribe</c> invocation, then sends each event as the invocation message the
/// hub protocol makes of it (serialised once per event and protocol by SignalR's own <see cref="IHubProtocol"/>), the
/// messages waiting in the connection's unbounded queue sent together as SignalR's transport does. No hub, no connection
/// manager, no pipes, no keep-alive: the floor a SignalR client can be served at.
/// </summary>
internal static class KestrelHubBroadcaster
{
    public static void MapKestrelHub(this WebApplication app, ConcurrentDictionary<string, Topic> topics)
    {
        var protocols = app.Services.GetServices<IHubProtocol>().ToDictionary(p => p.Name, StringComparer.Ordinal);
        app.Map(HubPaths.Workflows, async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                return Results.BadRequest();
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            if (await SubscribeAsync(socket, protocols, topics, context.RequestAborted) is not var (topic, subscriber))
            {
                return Results.Empty;
            }

            try
            {
                await SocketPump.RunAsync(socket, subscriber.Queue, subscriber.MessageType, batch: true, context.RequestAborted);
            }
            finally
            {
                topic.HubSubscribers.TryRemove(subscriber, out _);
            }

            return Results.Empty;
        });
    }

    /// <summary>The invocation message of one event, serialised once for every subscriber on each protocol.</summary>
    public static void Send(Topic topic, string method, object evt)
    {
        ReadOnlyMemory<byte> json = default, messagePack = default;
        var invocation = new InvocationMessage(method, [evt]);
        foreach (var subscriber in topic.HubSubscribers.Keys)
        {
            var frame = subscriber.MessageType == WebSocketMessageType.Binary
                ? messagePack.IsEmpty ? messagePack = subscriber.Protocol.GetMessageBytes(invocation) : messagePack
                : json.IsEmpty ? json = subscriber.Protocol.GetMessageBytes(invocation) : json;
            subscriber.Queue.Writer.TryWrite(frame);
        }
    }

    /// <summary>Handshake, then the first <c>Subscribe</c>; its completion is the subscriber's first queued frame.</summary>
    private static async Task<(Topic, HubSubscriber)?> SubscribeAsync(
        WebSocket socket, Dictionary<string, IHubProtocol> protocols, ConcurrentDictionary<string, Topic> topics, CancellationToken aborted)
    {
        var received = new ArrayBufferWriter<byte>(1024);
        IHubProtocol? protocol = null;
        while (received.WrittenCount < 64 * 1024)
        {
            var result = await socket.ReceiveAsync(received.GetMemory(1024), aborted);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            received.Advance(result.Count);
            var input = new ReadOnlySequence<byte>(received.WrittenMemory);
            if (protocol is null)
            {
                if (!HandshakeProtocol.TryParseRequestMessage(ref input, out var request))
                {
                    continue;
                }

                if (!protocols.TryGetValue(request.Protocol, out protocol))
                {
                    await socket.CloseAsync(WebSocketCloseStatus.ProtocolError, "unknown protocol", aborted);
                    return null;
                }

                var response = new ArrayBufferWriter<byte>();
                HandshakeProtocol.WriteResponseMessage(HandshakeResponseMessage.Empty, response);
                await socket.SendAsync(response.WrittenMemory, WebSocketMessageType.Text, true, aborted);
            }

            while (protocol.TryParseMessage(ref input, SubscribeBinder.Instance, out var message))
            {
                if (message is InvocationMessage { Target: nameof(IWorkflowHub.Subscribe), Arguments: [string workflowId, ..] } invocation
                    && topics.TryGetValue(workflowId, out var topic))
                {
                    var subscriber = new HubSubscriber(protocol, SocketPump.CreateQueue());
                    subscriber.Queue.Writer.TryWrite(protocol.GetMessageBytes(CompletionMessage.WithResult(invocation.InvocationId!, null)));
                    topic.HubSubscribers[subscriber] = 0;
                    return (topic, subscriber);
                }
            }

            var rest = input.ToArray();
            received.Clear();
            received.Write(rest);
        }

        await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, "expected a handshake and Subscribe", aborted);
        return null;
    }

    /// <summary>Argument types of the one method this endpoint understands (pings and other messages bind to nothing).</summary>
    private sealed class SubscribeBinder : IInvocationBinder
    {
        public static readonly SubscribeBinder Instance = new();

        public IReadOnlyList<Type> GetParameterTypes(string methodName) =>
            methodName == nameof(IWorkflowHub.Subscribe) ? [typeof(string), typeof(long?)] : throw new HubException($"Unknown method {methodName}.");

        public Type GetReturnType(string invocationId) => typeof(object);

        public Type GetStreamItemType(string streamId) => typeof(object);
    }
}

internal sealed class HubSubscriber(IHubProtocol protocol, Channel<ReadOnlyMemory<byte>> queue)
{
    public IHubProtocol Protocol { get; } = protocol;

    public Channel<ReadOnlyMemory<byte>> Queue { get; } = queue;

    public WebSocketMessageType MessageType { get; } =
        protocol.TransferFormat == TransferFormat.Binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
}
