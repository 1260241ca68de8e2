using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Platform;

/// <summary>The log a server writes at Information is its operational events, whatever content root it was given.</summary>
public sealed class LoggingDefaultsTests : DataDirectoryTest
{
    // A content root given on the command line (or ASPNETCORE_CONTENTROOT) need not hold the shipped appsettings.json:
    // the quiet levels must not depend on that file, or every request writes five lines of routing and result-writing.
    [Fact]
    public async Task ARequestWritesNoFrameworkLinesAtInformationWithoutTheSettingsFile()
    {
        var settings = new Dictionary<string, string>
        {
            ["ASPNETCORE_CONTENTROOT"] = Files.Directory,
            ["Logging:LogLevel:Default"] = "Information",
        };
        await using var server = await ServerProcess.StartAsync(Files.Directory, settings);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        var workflow = await http.CreateWorkflowAsync("Quiet log", maxSteps: 1);

        // The created line comes after the request's routing lines would have: once it is written, they would be too.
        await Poll.UntilAsync(() => Task.FromResult(server.Output.Any(line => line.Contains($"Workflow {workflow.WorkflowId} created", StringComparison.Ordinal))),
            "the workflow's created line");
        Assert.DoesNotContain(server.Output, line => line.Contains("Microsoft.AspNetCore.", StringComparison.Ordinal));
    }
}
