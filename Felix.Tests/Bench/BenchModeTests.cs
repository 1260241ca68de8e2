using System.Net;
using System.Net.Http.Json;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Bench;

public sealed class BenchModeTests
{
    [Fact]
    public async Task BenchEndpointsAreNotMappedUnlessEnabled()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();

        var response = await client.PostAsync("api/v1/bench/workflows?count=1", null).DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task BenchModePublishesDeltasThroughTheRawStream()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Bench:Enabled"] = "true" });
        using var client = app.CreateApiClient();
        var ids = await (await client.PostAsync("api/v1/bench/workflows?count=1", null).DefaultTimeout())
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<string[]>();
        using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{ids![0]}?types=all");
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
