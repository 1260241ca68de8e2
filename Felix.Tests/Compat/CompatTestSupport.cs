using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Compat;

/// <summary>Settings and small readers shared by the raw-protocol tests.</summary>
internal static class CompatTestSupport
{
    public const string Key = "compat-test-key";

    /// <summary>The frame types a client of the original can meet on the default stream.</summary>
    public static readonly string[] DocumentedFrameTypes =
        ["connected", "workflow_status", "agent_spawned", "agent_output", "synthesis_started", "workflow_complete", "workflow_error", "ping"];

    /// <summary>A Kestrel server with a key; <paramref name="extra"/> overrides or adds settings.</summary>
    public static FelixApplication CreateServer(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return new FelixApplication(settings, kestrel: true);
    }

    public static string WorkflowPath(string workflowId, string? query = null) =>
        $"api/v1/ws/workflows/{workflowId}?api_key={Key}" + (query is null ? "" : "&" + query);

    /// <summary>Runs a workflow to its end and returns its id.</summary>
    public static async Task<string> RunToEndAsync(FelixApplication app, int maxSteps = 3)
    {
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps);
        await client.WaitForTerminalAsync(workflow.WorkflowId);
        return workflow.WorkflowId;
    }

    /// <summary>Connects and reads every frame until the server closes.</summary>
    public static async Task<List<JsonObject>> ReadStreamAsync(FelixApplication app, string path)
    {
        using var socket = await app.ConnectRawAsync(path);
        var frames = await socket.ReadToCloseAsync();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        return frames;
    }

    /// <summary>
    /// A client socket with a small receive buffer, as a client with a small read queue has (Python's websockets reads 32
    /// messages ahead): the server's sends then wait on TCP flow control instead of vanishing into the kernel's buffers.
    /// </summary>
    public static async Task<WebSocket> ConnectWithSmallBuffersAsync(FelixApplication app, string pathAndQuery)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096 };
                try
                {
                    await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(tcp, ownsSocket: true);
                }
                catch
                {
                    tcp.Dispose();
                    throw;
                }
            },
        };
        var socket = new ClientWebSocket();
        var uri = new Uri(new Uri(app.BaseAddress.ToString().Replace("http", "ws", StringComparison.Ordinal)), pathAndQuery);
        await socket.ConnectAsync(uri, new HttpMessageInvoker(handler), CancellationToken.None).DefaultTimeout();
        return socket;
    }

    /// <summary>The stream events among the frames (they carry a sequence; connected, the snapshot and pings do not).</summary>
    public static List<JsonObject> Events(this IEnumerable<JsonObject> frames) => frames.Where(f => f["event_id"] is not null).ToList();

    public static long Sequence(this JsonObject frame) => frame["sequence"]!.GetValue<long>();

    public static string EventId(this JsonObject frame) => frame["event_id"]!.GetValue<string>();

    public static string Str(this JsonObject frame, string name) => frame[name]!.GetValue<string>();

    public static double Num(this JsonObject frame, string name) => frame[name]!.GetValue<double>();

    public static List<JsonObject> OfType(this IEnumerable<JsonObject> frames, string type) => frames.Where(f => f.Type() == type).ToList();
}
