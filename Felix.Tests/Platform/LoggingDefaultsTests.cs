using System.Diagnostics;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Platform;

/// <summary>
/// The quiet log levels hold without appsettings.json: a server started with <c>--contentRoot</c> elsewhere (a directory
/// with only its data) logs no framework Information line per request, and configuration can still ask for them.
/// </summary>
public sealed class LoggingDefaultsTests : DataDirectoryTest
{
    private const string Key = "k-logging-defaults";

    [Fact]
    public async Task AServerWithoutAppsettingsLogsNoFrameworkInformationLinePerRequest()
    {
        var output = await RunAWorkflowAsync();

        Assert.DoesNotContain(output, l => l.Contains(" info: Microsoft.AspNetCore.", StringComparison.Ordinal));
        // Felix's own Information lines and the host's lifetime lines stay.
        Assert.Contains(output, l => l.Contains(" info: Felix.Server.Workflows.WorkflowService[2201]", StringComparison.Ordinal));
        Assert.Contains(output, l => l.Contains(" info: Microsoft.Hosting.Lifetime", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ConfigurationStillAsksForTheFrameworkLines()
    {
        var output = await RunAWorkflowAsync(("Logging__LogLevel__Microsoft.AspNetCore", "Information"));

        Assert.Contains(output, l => l.Contains(" info: Microsoft.AspNetCore.Routing.EndpointMiddleware", StringComparison.Ordinal));
        // Not the request-start lines, which carry keys from query strings, whatever the configured level.
        Assert.DoesNotContain(output, l => l.Contains(" info: Microsoft.AspNetCore.Hosting.Diagnostics", StringComparison.Ordinal));
    }

    /// <summary>
    /// A Production server whose content root holds no appsettings.json: creates a workflow, lists it, reads it to its end,
    /// asks for something that is not there, then stops; its console output.
    /// </summary>
    private async Task<IReadOnlyList<string>> RunAWorkflowAsync(params (string Name, string Value)[] environment)
    {
        Assert.False(File.Exists(Path.Combine(Files.Directory, "appsettings.json")));
        var info = ChildProcess.StartInfo(
            "dotnet", [Path.Combine(AppContext.BaseDirectory, "Felix.Server.dll"), "--urls", "http://127.0.0.1:0", "--contentRoot", Files.Directory],
            Files.Directory).WithApiKey(Key);
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)
            || k is "ASPNETCORE_ENVIRONMENT" or "DOTNET_ENVIRONMENT").ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        await using var server = await ServerProcess.StartAsync(info);
        using (var client = new HttpClient { BaseAddress = server.BaseAddress })
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", Key);
            var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1);
            await client.WaitForTerminalAsync(workflow.WorkflowId);
            using var missing = await client.GetAsync("api/v1/workflows/wf_0000000000000000").DefaultTimeout();
            Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
        }

        await server.TerminateAsync();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        return server.Output;
    }
}
