using System.Net;
using System.Net.Http.Json;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Bench;

/// <summary>The benchmark endpoints live in the bench host (bench/Felix.Bench.Host), never in the product.</summary>
public sealed class BenchModeTests : IDisposable
{
    private static string HostDll => Path.Combine(
        ChildProcess.RepositoryRoot, "bench", "Felix.Bench.Host", "bin", ChildProcess.BuildConfiguration, "net10.0", "Felix.Bench.Host.dll");

    private readonly string _directory = Directory.CreateTempSubdirectory("felix-bench-host-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task TheProductHasNoBenchEndpoints()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Bench:Enabled"] = "true" });
        using var client = app.CreateApiClient();

        var response = await client.PostAsync("api/v1/bench/workflows?count=1", null).DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task TheBenchHostPublishesDeltasThroughTheRealServersRawStream()
    {
        Assert.True(File.Exists(HostDll), $"{HostDll} is missing: Felix.Tests builds it through its project reference.");
        await using var host = await ServerProcess.StartAsync(_directory, new Dictionary<string, string> { ["Felix:Storage:Provider"] = "InMemory" }, HostDll);
        using var client = new HttpClient { BaseAddress = host.BaseAddress };
        var ids = await (await client.PostAsync("api/v1/bench/workflows?count=1", null).DefaultTimeout())
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<string[]>();
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new Uri(new Uri(host.BaseAddress.ToString().Replace("http", "ws", StringComparison.Ordinal)), $"api/v1/ws/workflows/{ids![0]}?types=all"), CancellationToken.None).DefaultTimeout();
        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());

        (await client.PostAsJsonAsync("api/v1/bench/publish?events=3&rate=0&bytes=8", ids).DefaultTimeout()).EnsureSuccessStatusCode();

        var deltas = new List<long>();
        while (deltas.Count < 3 && await socket.ReceiveJsonAsync() is { } frame)
        {
            if (frame.Type() == "agent_output_delta")
            {
                Assert.Equal("xxxxxxxx", frame["delta"]!.GetValue<string>());
                deltas.Add(frame["sequence"]!.GetValue<long>());
            }
        }

        Assert.Equal([1, 2, 3], deltas);
    }
}
