using Felix.Contracts;
using Felix.Server.Compat;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

public sealed partial class CompatPythonClientTests
{
    /// <summary>
    /// The example opens its stream on a workflow that is already running (its socket is let through only once the first
    /// agent waits for the model): it prints the statuses in the order they happened, each once.
    /// </summary>
    [Fact]
    public async Task PythonExampleJoiningARunningWorkflowPrintsItsStatusesInOrder()
    {
        var model = new HeldModel();
        await using var app = CreateServer().WithServices(services =>
        {
            model.Install(services);
            services.AddTransient<IStartupFilter>(_ => new HoldWorkflowSockets(model.FirstCallWaiting));
        });
        var connections = app.Services.GetRequiredService<CompatConnections>();

        var run = PythonClient.RunAsync(app.BaseAddress, Key, "--task", "Explain quantum computing", "--max-steps", "3", "--non-interactive");
        await Poll.UntilAsync(() => Task.FromResult(run.IsCompleted || connections.WorkflowCount > 0), "the example's socket to open");
        model.Release();
        var result = await run;

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        var statuses = result.Lines.Where(l => l.StartsWith("Workflow status: ", StringComparison.Ordinal)).Select(l => l["Workflow status: ".Length..]);
        Assert.Equal([WorkflowStatuses.Pending, WorkflowStatuses.Running, WorkflowStatuses.Completed], statuses);
    }

    /// <summary>Holds the upgrade requests of workflow streams until <paramref name="until"/> completes.</summary>
    private sealed class HoldWorkflowSockets(Task until) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                if (context.Request.Path.StartsWithSegments("/api/v1/ws/workflows", StringComparison.Ordinal))
                {
                    await until.WaitAsync(TestTimeouts.Default);
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }
}
