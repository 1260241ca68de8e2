using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using Felix.Contracts;
using Felix.Contracts.Serialization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Infrastructure;

/// <summary>
/// The real server in process. Each test builds its own with the settings it needs; by default the offline model runs
/// at full speed so a whole workflow takes milliseconds.
/// </summary>
internal sealed class FelixApplication : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings = new()
    {
        ["Felix:Llm:OfflineTokenDelay"] = "00:00:00",
        // Ordinary tests keep storage in memory: fast and isolated; Storage tests choose SQLite files themselves.
        ["Felix:Storage:Provider"] = "Sqlite",
        ["Felix:Storage:Database"] = ":memory:",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
    };

    private readonly bool _kestrel;
    private Action<IServiceCollection>? _services;

    public FelixApplication(IDictionary<string, string?>? settings = null, bool kestrel = false)
    {
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        _kestrel = kestrel;
        if (kestrel)
        {
            // Not UseKestrel(0): with a port the factory rewrites the server's addresses after the app's own thread may
            // already have started Kestrel, which then throws "Addresses cannot be modified after the server has
            // started" (dotnet/aspnetcore#67714). A listen option picks a free port with nothing to rewrite.
            UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        }
    }

    public string? ApiKey => _settings.GetValueOrDefault("FELIX_API_KEY");

    /// <summary>
    /// The first step of a shutdown, alone: the engine stops taking work and drains, while the HTTP server still answers.
    /// It waits for the engine's loop to have started: a background service stopped before that ends cancelled outside a
    /// host's stop, and the host then stops the whole application (<c>BackgroundServiceExceptionBehavior.StopHost</c>).
    /// </summary>
    public async Task StopEngineAsync()
    {
        var engine = Services.GetRequiredService<Felix.Server.Workflows.WorkflowEngine>();
        await Poll.UntilAsync(() => Task.FromResult(engine.IsRunning), "the engine to start");
        await engine.StopAsync(CancellationToken.None).DefaultTimeout();
    }

    /// <summary>Replaces services (only what is slow or nondeterministic).</summary>
    public FelixApplication WithServices(Action<IServiceCollection> configure)
    {
        _services += configure;
        return this;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(_settings));
        // AddFelix decides at registration whether to scale out through Redis and whether to export over OTLP; app
        // configuration arrives too late for that under the test host, host settings do not.
        foreach (var (key, value) in _settings.Where(s => s.Key.StartsWith("Felix:Redis:", StringComparison.Ordinal) || s.Key.StartsWith("OTEL_", StringComparison.Ordinal)))
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        if (_services is not null)
        {
            builder.ConfigureServices(_services);
        }
    }

    /// <summary>The server's base address (http://127.0.0.1:port/ under Kestrel, http://localhost/ under TestServer).</summary>
    public Uri BaseAddress
    {
        get
        {
            if (!_kestrel)
            {
                return Server.BaseAddress;
            }

            StartServer();
            var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        }
    }

    /// <summary>An HTTP client that sends the configured key, if any.</summary>
    public HttpClient CreateApiClient(string? key = null)
    {
        var client = _kestrel ? new HttpClient { BaseAddress = BaseAddress } : CreateClient();
        if ((key ?? ApiKey) is { } k)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", k);
        }

        return client;
    }

    /// <summary>Opens a raw WebSocket on <paramref name="pathAndQuery"/> (e.g. <c>api/v1/ws/workflows/wf_1</c>).</summary>
    public async Task<WebSocket> ConnectRawAsync(string pathAndQuery, Action<ClientWebSocketOptions>? configure = null)
    {
        var uri = new Uri(new Uri(BaseAddress.ToString().Replace("http", "ws", StringComparison.Ordinal)), pathAndQuery);
        if (_kestrel)
        {
            var socket = new ClientWebSocket();
            configure?.Invoke(socket.Options);
            await socket.ConnectAsync(uri, CancellationToken.None).DefaultTimeout();
            return socket;
        }

        return await Server.CreateWebSocketClient().ConnectAsync(uri, CancellationToken.None).DefaultTimeout();
    }

    /// <summary>A hub connection over the given protocol (<c>json</c>, <c>messagepack</c>) and transport.</summary>
    public HubConnection CreateHubConnection(
        string protocol, HttpTransportType transport = HttpTransportType.WebSockets, string path = HubPaths.Workflows, string? key = null)
    {
        var url = new Uri(BaseAddress, path.TrimStart('/'));
        var builder = new HubConnectionBuilder().WithUrl(url, options =>
        {
            options.Transports = transport;
            if ((key ?? ApiKey) is { } k)
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(k);
            }

            if (!_kestrel)
            {
                options.HttpMessageHandlerFactory = _ => Server.CreateHandler();
                if (transport == HttpTransportType.WebSockets)
                {
                    options.SkipNegotiation = key is null && ApiKey is null;
                    options.WebSocketFactory = async (context, cancellationToken) =>
                    {
                        var client = Server.CreateWebSocketClient();
                        if ((key ?? ApiKey) is { } k2)
                        {
                            client.ConfigureRequest = request => request.Headers.Authorization = $"Bearer {k2}";
                        }

                        return await client.ConnectAsync(context.Uri, cancellationToken);
                    };
                }
            }
        });
        builder = protocol switch
        {
            "json" => builder.AddJsonProtocol(o => o.PayloadSerializerOptions.AddFelixConverters()),
            "messagepack" => builder.AddMessagePackProtocol(o => o.SerializerOptions = o.SerializerOptions.WithFelixResolver()),
            _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "json or messagepack"),
        };
        return builder.Build();
    }
}
