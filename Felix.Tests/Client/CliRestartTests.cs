using System.Net;
using System.Text.Json;
using Felix.Contracts;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Client;

/// <summary>
/// <c>felix</c> against a server process that drains (SIGTERM) and is started again on the same port and data: a watch
/// waits out the drain's 503 as the server asks and follows the workflow to its end, whether it was connected before
/// the drain or started during it; a one-shot command says when to retry.
/// </summary>
public sealed class CliRestartTests : DataDirectoryTest
{
    [Fact]
    public async Task WatchWaitsOutAGracefulRestartAndShowsEveryEventOnce()
    {
        // A drain long enough for a second watch to start in it; new streams are told to come back in 1-2 s.
        var settings = StorageTestSettings.SqliteFile(Files.Directory,
                ("Felix:Llm:OfflineTokenDelay", "00:00:00.050"), ("Felix:Workflows:ShutdownGracePeriod", "00:00:10"),
                ("Felix:Workflows:RetryAfterSeconds", "1"))
            .ToDictionary(p => p.Key, p => p.Value!);
        var first = await ServerProcess.StartAsync(Files.Directory, settings);
        ServerProcess? second = null;
        try
        {
            var url = first.BaseAddress.ToString();
            using var http = new HttpClient { BaseAddress = first.BaseAddress };
            var workflowId = (await http.CreateWorkflowAsync("Drain me", maxSteps: 8)).WorkflowId;
            Task<(ChildProcess.Result DuringDrain, ChildProcess.Result Run)>? restart = null;

            // The connected watch: SIGTERM once it has shown an agent.
            var connected = await CliProcess.ReactAsync(
                null,
                line => line.Contains($"\"type\":\"{EventTypes.AgentSpawned}\"", StringComparison.Ordinal),
                _ =>
                {
                    restart = RestartAsync();
                    return Task.CompletedTask;
                },
                "watch", workflowId, "--json", "--url", url);
            Assert.NotNull(restart);
            var (duringDrain, run) = await restart.DefaultTimeout(TimeSpan.FromSeconds(90));

            var stored = await http.ReadEventsAsync(workflowId).DefaultTimeout();
            Assert.Equal(EventTypes.WorkflowComplete, stored[^1].Type);
            var history = stored.Select(e => e.Sequence).ToList();
            foreach (var watch in new[] { connected, duringDrain })
            {
                Assert.True(watch.ExitCode == 0, watch.ToString());
                Assert.Equal(history, watch.Lines.Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("sequence").GetInt64()));
            }

            Assert.Contains("Connection lost; resuming after event", connected.Stderr, StringComparison.Ordinal);
            // The watch started during the drain met the 503 on its first connection and waited as asked.
            Assert.Contains("Server not taking connections now (503 Service Unavailable); retrying in ", duringDrain.Stderr, StringComparison.Ordinal);
            // A one-shot command does not wait: it says when to come back, with exit code 3.
            Assert.True(run.ExitCode == 3, run.ToString());
            Assert.Contains("refused the request for now (503 Server shutting down); it asks to retry in 1 s.", run.Stderr, StringComparison.Ordinal);

            async Task<(ChildProcess.Result DuringDrain, ChildProcess.Result Run)> RestartAsync()
            {
                await first.TerminateAsync();
                await Poll.UntilAsync(async () => (await http.GetAsync("health/ready").DefaultTimeout()).StatusCode == HttpStatusCode.ServiceUnavailable,
                    "readiness to answer 503 once the drain began", TimeSpan.FromSeconds(10));
                var duringDrain = CliProcess.RunAsync(null, "watch", workflowId, "--json", "--url", url);
                var run = await CliProcess.RunAsync(null, "run", "Too late", "--url", url);
                Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                second = await ServerProcess.StartAsync(Files.Directory, settings, port: first.BaseAddress.Port);
                return (await duringDrain, run);
            }
        }
        finally
        {
            await first.DisposeAsync();
            if (second is not null)
            {
                await second.DisposeAsync();
            }
        }
    }
}
