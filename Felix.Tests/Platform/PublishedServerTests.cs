using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Platform;

/// <summary>A published server reads the settings published with it, whatever directory it is started from.</summary>
public sealed class PublishedServerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "felix-publish-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task PublishedServerStartedFromAnotherDirectoryReadsItsAppSettings()
    {
        var publish = await PublishAsync();
        var elsewhere = Directory.CreateDirectory(Path.Combine(_root, "elsewhere")).FullName;

        // A setting that only appsettings.json gives, next to the defaults it ships with.
        var appSettings = Path.Combine(publish, "appsettings.json");
        var json = JsonNode.Parse(await File.ReadAllTextAsync(appSettings))!.AsObject();
        json["Felix"] = new JsonObject { ["Workflows"] = new JsonObject { ["MaxConcurrent"] = 7 } };
        await File.WriteAllTextAsync(appSettings, json.ToJsonString());

        await using var server = await ServerProcess.StartAsync(elsewhere, new Dictionary<string, string>
        {
            ["Felix:Storage:Provider"] = "InMemory",
        }, Path.Combine(publish, "Felix.Server.dll"));
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var status = await http.GetFromJsonAsync<JsonObject>("api/v1/system/status").DefaultTimeout();

        Assert.Equal(7, status!["max_concurrent_workflows"]!.GetValue<int>());
    }

    /// <summary>The runtime settings docs/deployment.md describes ship in the published runtimeconfig.json.</summary>
    [Fact]
    public async Task PublishedServerShipsTheWorkstationCollectorAndWorkersThatDoNotSpin()
    {
        var publish = await PublishAsync();

        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(publish, "Felix.Server.runtimeconfig.json")))!;
        var properties = config["runtimeOptions"]!["configProperties"]!;
        Assert.False(properties["System.GC.Server"]!.GetValue<bool>());
        Assert.Equal(0, properties["System.Threading.ThreadPool.UnfairSemaphoreSpinLimit"]!.GetValue<int>());
    }

    /// <summary>The tests' own build of the server, published without building it again: this checks the published layout.</summary>
    private async Task<string> PublishAsync()
    {
        var publish = Path.Combine(_root, "app");
        var project = Path.Combine(ChildProcess.RepositoryRoot, "Felix.Server", "Felix.Server.csproj");
        var published = await ChildProcess.RunAsync(
            ChildProcess.StartInfo("dotnet", ["publish", project, "-c", ChildProcess.BuildConfiguration, "--no-build", "-o", publish, "-nologo", "-v", "q"]),
            TimeSpan.FromMinutes(3));
        Assert.True(published.ExitCode == 0, published.ToString());
        return publish;
    }
}
