using System.Net.WebSockets;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Bench.Load;

/// <summary>Where clients report what they received during the current run.</summary>
internal sealed class RunSink
{
    private volatile LatencyRecorder _latencies = new(1);

    public LatencyRecorder Latencies => _latencies;

    public void Reset(int capacity) => _latencies = new LatencyRecorder(capacity);

    public void Received(long publishedTicks)
    {
        if (publishedTicks > 0)
        {
            _latencies.Record((DateTime.UtcNow.Ticks - publishedTicks) / 10);
        }
    }
}

/// <summary>One subscriber: connected to one workflow, counting the bench events it receives.</summary>
internal abstract class BenchClient : IAsyncDisposable
{
    private long _received;

    protected BenchClient(RunSink sink) => Sink = sink;

    protected RunSink Sink { get; }

    public long Received => Interlocked.Read(ref _received);

    /// <summary>True once the transport reported the connection lost (a drop unless the run ended).</summary>
    public bool Closed { get; protected set; }

    public Task ConnectAsync(Uri server, string workflowId, CancellationToken cancellationToken) =>
        ConnectAsync(server, workflowId, invoker: null, cancellationToken);

    /// <summary>
    /// Connects through <paramref name="invoker"/> when given (a <see cref="StormSource"/>'s, whose sockets leave from one
    /// loopback source address: one address has only ~28,000 ephemeral ports), else through the default handler.
    /// </summary>
    public abstract Task ConnectAsync(Uri server, string workflowId, HttpMessageInvoker? invoker, CancellationToken cancellationToken);

    protected void OnEvent(long publishedTicks)
    {
        Interlocked.Increment(ref _received);
        Sink.Received(publishedTicks);
    }

    public abstract ValueTask DisposeAsync();

    /// <summary>A client of <paramref name="transport"/>; SignalR ones are <see cref="LeanSignalRClient"/> unless <paramref name="signalRClient"/> is <c>full</c>.</summary>
    public static BenchClient Create(string transport, RunSink sink, string signalRClient = "lean") => (transport, signalRClient) switch
    {
        ("raw", _) => new RawClient(sink),
        ("json" or "messagepack", "lean") => new LeanSignalRClient(sink, transport),
        ("json" or "messagepack", "full") => new SignalRClient(sink, transport),
        _ => throw new ArgumentException($"Unknown transport {transport} or SignalR client {signalRClient} (lean or full)."),
    };
}

/// <summary>The raw WebSocket protocol (<c>/api/v1/ws/workflows/{id}?types=all</c>).</summary>
internal sealed class RawClient(RunSink sink) : BenchClient(sink)
{
    private static readonly byte[] DeltaType = "\"agent_output_delta\""u8.ToArray();

    private readonly ClientWebSocket _socket = new();
    private Task? _receive;

    public override async Task ConnectAsync(Uri server, string workflowId, HttpMessageInvoker? invoker, CancellationToken cancellationToken)
    {
        var uri = new Uri(server, $"/api/v1/ws/workflows/{workflowId}?types=all");
        _socket.Options.KeepAliveInterval = Timeout.InfiniteTimeSpan;
        await _socket.ConnectAsync(new UriBuilder(uri) { Scheme = "ws" }.Uri, invoker, cancellationToken);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _receive = ReceiveAsync(connected);
        await connected.Task.WaitAsync(cancellationToken);
    }

    private async Task ReceiveAsync(TaskCompletionSource connected)
    {
        var buffer = new byte[8 * 1024];
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                    length = Math.Min(length + result.Count, buffer.Length - 1);
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                // The first frame is "connected": the subscription exists from then on.
                connected.TrySetResult();
                var frame = buffer.AsSpan(0, length);
                if (frame.IndexOf(DeltaType) >= 0)
                {
                    OnEvent(WireTimestamp.FindInJson(frame));
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        Closed = true;
        connected.TrySetException(new InvalidOperationException("Closed before the connected frame."));
    }

    public override async ValueTask DisposeAsync()
    {
        _socket.Abort();
        if (_receive is not null)
        {
            await _receive;
        }

        _socket.Dispose();
    }
}

/// <summary>
/// The workflow hub with the JSON or MessagePack protocol through the full .NET <see cref="HubConnection"/>: Subscribe joins
/// the group, events arrive as client calls and are deserialised. A thousand of these in one process spend seconds in GC
/// per run (<c>--signalr-client full</c>); <see cref="LeanSignalRClient"/> is the default.
/// </summary>
internal sealed class SignalRClient(RunSink sink, string protocol) : BenchClient(sink)
{
    private HubConnection? _connection;

    public override async Task ConnectAsync(Uri server, string workflowId, HttpMessageInvoker? invoker, CancellationToken cancellationToken)
    {
        if (invoker is not null)
        {
            throw new NotSupportedException("The full client connects from the default source address only.");
        }

        var builder = new HubConnectionBuilder()
            .WithUrl(new Uri(server, HubPaths.Workflows), HttpTransportType.WebSockets, o => o.SkipNegotiation = true)
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Error));
        if (protocol == "messagepack")
        {
            builder.AddMessagePackProtocol(o => o.SerializerOptions = o.SerializerOptions.WithFelixResolver());
        }
        else
        {
            builder.AddJsonProtocol(o => o.PayloadSerializerOptions.AddFelixConverters());
        }

        _connection = builder.Build();
        _connection.On<AgentOutputDeltaEvent>(nameof(IWorkflowClient.AgentOutputDelta), e => OnEvent(WireTimestamp.ParseTicks(e.Timestamp)));
        _connection.Closed += _ =>
        {
            Closed = true;
            return Task.CompletedTask;
        };
        await _connection.StartAsync(cancellationToken);
        await _connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), workflowId, (long?)null, cancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}
