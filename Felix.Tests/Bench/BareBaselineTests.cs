using System.Threading.Channels;
using Felix.Bench.Load;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Bench;

/// <summary>
/// The benchmark's bare servers, run as the load generator runs them, serve a real SignalR client: the bare Kestrel
/// endpoint that sends the hub's bytes (<c>Bench:Hubs=kestrel</c>) is only a fair "same bytes to the same clients"
/// baseline if what it sends is what SignalR sends, so the .NET <see cref="HubConnection"/> must read it as it reads the
/// bare hub.
/// </summary>
public sealed class BareBaselineTests
{
    // Enough that the bare Kestrel endpoint sends several hub messages in one WebSocket message, as it does under load.
    private const int Events = 200;

    private static string BaselineDll => Path.Combine(
        ChildProcess.RepositoryRoot, "bench", "Felix.Bench.Baseline", "bin", ChildProcess.BuildConfiguration, "net10.0", "Felix.Bench.Baseline.dll");

    [Theory]
    [InlineData("kestrel", "json")]
    [InlineData("kestrel", "messagepack")]
    [InlineData("signalr", "json")]
    [InlineData("signalr", "messagepack")]
    public async Task TheHubClientReceivesEveryPublishedEventInOrder(string hubs, string protocol)
    {
        Assert.True(File.Exists(BaselineDll), $"{BaselineDll} is missing: Felix.Tests builds it through its project reference.");
        await using var server = await ServerProcess.StartAsync(
            "baseline", BaselineDll, LoopbackPort.Unused(), new Dictionary<string, string> { ["Bench__Hubs"] = hubs });
        var ids = await server.CreateWorkflowsAsync(1);
        var received = Channel.CreateUnbounded<AgentOutputDeltaEvent>();
        await using var connection = Connect(new Uri($"http://127.0.0.1:{server.Port}{HubPaths.Workflows}"), protocol);
        connection.On<AgentOutputDeltaEvent>(nameof(IWorkflowClient.AgentOutputDelta), evt => received.Writer.TryWrite(evt));
        await connection.StartAsync().DefaultTimeout();

        var subscription = await connection.InvokeAsync<WorkflowSubscription?>(nameof(IWorkflowHub.Subscribe), ids[0], null).DefaultTimeout();
        await server.PublishAsync(ids, events: Events, rate: 0, bytes: 5).DefaultTimeout();

        Assert.Null(subscription);
        for (var sequence = 1; sequence <= Events; sequence++)
        {
            var evt = await received.Reader.ReadAsync().AsTask().DefaultTimeout();
            Assert.Equal((ids[0], (long)sequence, sequence - 1, "xxxxx"), (evt.WorkflowId, evt.Sequence, evt.Index, evt.Delta));
        }
    }

    private static HubConnection Connect(Uri url, string protocol)
    {
        var builder = new HubConnectionBuilder().WithUrl(url, options =>
        {
            // As the load generator's clients do; the bare Kestrel endpoint has no negotiate route.
            options.Transports = HttpTransportType.WebSockets;
            options.SkipNegotiation = true;
        });
        return (protocol == "json"
            ? builder.AddJsonProtocol(o => o.PayloadSerializerOptions.AddFelixConverters())
            : builder.AddMessagePackProtocol(o => o.SerializerOptions = o.SerializerOptions.WithFelixResolver())).Build();
    }
}
