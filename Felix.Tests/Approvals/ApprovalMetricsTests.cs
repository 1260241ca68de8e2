using System.Globalization;
using System.Text.RegularExpressions;
using Felix.Contracts;
using Felix.Server.Observability;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Approvals;

[Collection(ProcessWideMetricsCollection.Name)]
public sealed class ApprovalMetricsTests
{
    [Fact]
    public async Task MetricsShowWaitingRequestsTimeToDecisionAndOutcomes()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Approvals:DeadlineCheckInterval"] = "00:00:00.050" });
        using var client = app.CreateApiClient();
        var id = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var pending = await client.WaitForPendingApprovalAsync(id);
        await Poll.UntilAsync(async () => Gauge(await client.GetStringAsync("metrics").DefaultTimeout(), "felix_approvals_waiting") == 1, "the waiting gauge to show 1");

        await client.DecideAsync(id, pending.ApprovalId, "reject", "No.");
        await client.WaitForTerminalAsync(id);
        await Poll.UntilAsync(async () => Gauge(await client.GetStringAsync("metrics").DefaultTimeout(), "felix_approvals_waiting") == 0, "the waiting gauge to show 0");
        var metrics = await client.GetStringAsync("metrics").DefaultTimeout();

        var decided = Assert.Single(metrics.Split('\n'), l => l.StartsWith("felix_approvals_decided_total{", StringComparison.Ordinal));
        Assert.Contains("decided_by=\"person\"", decided, StringComparison.Ordinal);
        Assert.Contains("decision=\"reject\"", decided, StringComparison.Ordinal);
        Assert.EndsWith(" 1", decided.Split(' ', 3) is [var name, var value, ..] ? $"{name} {value}" : decided, StringComparison.Ordinal);
        Assert.Contains("felix_approvals_time_to_decision_seconds_bucket", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithdrawalsAreCountedAsDecidedWithTheirDecisionAndWhoEndedTheWorkflow()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateApiClient();
        using var decided = new InstrumentRecorder(app.Services.GetRequiredService<FelixMetrics>().Meter, "felix.approvals.decided");
        var cancelled = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var failed = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        await client.WaitForPendingApprovalAsync(cancelled);
        await client.WaitForPendingApprovalAsync(failed);

        await client.DeleteAsync($"api/v1/workflows/{cancelled}").DefaultTimeout();
        await app.Services.GetRequiredService<WorkflowRunner>().FailAsync(failed, "The model went away.").DefaultTimeout();

        Assert.Equal(WorkflowStatuses.Cancelled, (await client.WaitForTerminalAsync(cancelled)).Status);
        Assert.Equal(WorkflowStatuses.Failed, (await client.WaitForTerminalAsync(failed)).Status);
        Assert.Equal(2, decided.Total);
        Assert.Equal(2, decided.TotalWith("decision", ApprovalDecisions.Withdrawn));
        // The cancel was a person's (the principal of a server without keys); the failure was nobody's.
        Assert.Equal(1, decided.TotalWith("decided_by", "person"));
        Assert.Equal(1, decided.TotalWith("decided_by", "system"));
    }

    private static double? Gauge(string metrics, string name)
    {
        var match = Regex.Match(metrics, $"(?m)^{name}(?:\\{{[^}}]*\\}})? ([0-9.eE+-]+)");
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }
}
