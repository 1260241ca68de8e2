using System.Net;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Security;

/// <summary>
/// A refused API key is a client's mistake, as a refused token is: the client gets its 401 or 1008, and the log at
/// Information is not two lines per attempt (a key sprayed at the node would flood it).
/// </summary>
public sealed class RefusedKeyLoggingTests
{
    [Fact]
    public async Task WrongAndMissingKeysWriteNothingAtInformation()
    {
        var logs = new LogCapture();
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = "the-right-key", ["Logging:LogLevel:Felix"] = "Information" })
            .WithServices(services => services.AddSingleton<ILoggerProvider>(logs));
        using var wrong = app.CreateApiClient("a-wrong-key");
        using var none = app.CreateApiClient();
        none.DefaultRequestHeaders.Authorization = null;
        using var right = app.CreateApiClient("the-right-key");

        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("api/v1/workflows").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await none.GetAsync("api/v1/workflows").DefaultTimeout()).StatusCode);
        var workflow = await right.CreateWorkflowAsync("After the refusals", maxSteps: 1);

        // The created line is written after the refused requests' lines would have been.
        await Poll.UntilAsync(() => Task.FromResult(logs.Entries.Any(e => e.Message.Contains($"Workflow {workflow.WorkflowId} created", StringComparison.Ordinal))),
            "the workflow's created line");
        Assert.DoesNotContain(logs.Entries, e => e.Category.StartsWith("Felix.Server.Security", StringComparison.Ordinal) && e.Level >= LogLevel.Information);
    }
}
