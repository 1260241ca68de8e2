using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Platform;

public sealed partial class OpenApiDocumentTests
{
    /// <summary>
    /// What the server answered, per operation (<c>post /api/v1/workflows</c>) and status: every problem type and title
    /// seen, since one status can mean several things (503: busy, shutting down, storage unavailable).
    /// </summary>
    private sealed class Observed
    {
        public Dictionary<string, Dictionary<int, HashSet<(string? Type, string? Title)>>> ByOperation { get; } = [];

        public bool Answered(string operation, int status) => ByOperation.TryGetValue(operation, out var statuses) && statuses.ContainsKey(status);

        public async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string template, string url, HttpContent? body = null)
        {
            using var request = new HttpRequestMessage(method, url) { Content = body };
            var response = await client.SendAsync(request).DefaultTimeout();
            var problem = response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                ? JsonNode.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout())
                : null;
            var operation = $"{method.Method.ToLowerInvariant()} {template}";
            var statuses = ByOperation.TryGetValue(operation, out var known) ? known : ByOperation[operation] = [];
            var problems = statuses.TryGetValue((int)response.StatusCode, out var seen) ? seen : statuses[(int)response.StatusCode] = [];
            problems.Add((problem?["type"]?.GetValue<string>(), problem?["title"]?.GetValue<string>()));
            return response;
        }
    }

    [Fact]
    public async Task EveryRouteDeclaresExactlyTheStatusesTheServerAnswersWithTheirProblems()
    {
        var observed = new Observed();
        // A slow model and a queue of one, so that a workflow is still running when cancelled and the queue fills (503).
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["FELIX_API_KEY"] = Key,
            ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.200",
            ["Felix:Workflows:MaxConcurrent"] = "1",
            ["Felix:Workflows:QueueCapacity"] = "1",
        });
        await using var limited = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key, ["Felix:Limits:WorkflowsPerMinute"] = "1" });
        using var client = app.CreateApiClient();
        using var anonymous = app.CreateClient();
        const string Workflows = "/api/v1/workflows";
        const string One = "/api/v1/workflows/{workflowId}";
        const string Events = "/api/v1/workflows/{workflowId}/events";

        var first = await observed.SendAsync(client, HttpMethod.Post, Workflows, "api/v1/workflows", Json(new { task = "Explain quantum computing", max_steps = 5 }));
        var id = (await first.Content.ReadFromJsonAsync<JsonObject>().DefaultTimeout())!["workflow_id"]!.GetValue<string>();
        for (var i = 0; i < 4 && !observed.Answered($"post {Workflows}", 503); i++)
        {
            await observed.SendAsync(client, HttpMethod.Post, Workflows, "api/v1/workflows", Json(new { task = $"Fill the queue {i}" }));
        }

        const string AgUi = "/api/v1/agui";
        await observed.SendAsync(client, HttpMethod.Post, AgUi, "api/v1/agui", AgUiRun("thread-busy")); // 503: the queue is full
        await using var fast = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key });
        using var fastClient = fast.CreateApiClient();
        await observed.SendAsync(fastClient, HttpMethod.Post, AgUi, "api/v1/agui", AgUiRun("thread-ok"));
        await observed.SendAsync(fastClient, HttpMethod.Post, AgUi, "api/v1/agui", new StringContent("{", Encoding.UTF8, "application/json"));
        await observed.SendAsync(fastClient, HttpMethod.Post, AgUi, "api/v1/agui", AgUiRun("thread-bad", new { max_steps = 500 }));
        await observed.SendAsync(fastClient, HttpMethod.Post, AgUi, "api/v1/agui", AgUiRun(new string('a', 1_100_000)));
        await observed.SendAsync(anonymous, HttpMethod.Post, AgUi, "api/v1/agui", AgUiRun("thread-anonymous"));
        await observed.SendAsync(client, HttpMethod.Post, Workflows, "api/v1/workflows", new StringContent("{", Encoding.UTF8, "application/json"));
        await observed.SendAsync(client, HttpMethod.Post, Workflows, "api/v1/workflows", NotJson("{\"task\":\"x\"}")); // 415
        await observed.SendAsync(fastClient, HttpMethod.Post, AgUi, "api/v1/agui", NotJson("{}")); // 415
        await observed.SendAsync(client, HttpMethod.Post, Workflows, "api/v1/workflows", Json(new { max_steps = 5 }));
        await observed.SendAsync(client, HttpMethod.Post, Workflows, "api/v1/workflows", Json(new { task = new string('a', 140_000) }));
        await observed.SendAsync(anonymous, HttpMethod.Post, Workflows, "api/v1/workflows", Json(new { task = "x" }));
        using var limitedClient = limited.CreateApiClient();
        var finished = await observed.SendAsync(limitedClient, HttpMethod.Post, Workflows, "api/v1/workflows", Json(new { task = "one", max_steps = 1 }));
        await observed.SendAsync(limitedClient, HttpMethod.Post, Workflows, "api/v1/workflows", Json(new { task = "two" }));
        await observed.SendAsync(limitedClient, HttpMethod.Post, "/api/v1/agui", "api/v1/agui", AgUiRun("thread-limited")); // 429
        var finishedId = (await finished.Content.ReadFromJsonAsync<JsonObject>().DefaultTimeout())!["workflow_id"]!.GetValue<string>();
        await limitedClient.WaitForTerminalAsync(finishedId);
        await observed.SendAsync(limitedClient, HttpMethod.Delete, One, $"api/v1/workflows/{finishedId}"); // 409: it is finished

        foreach (var url in new[] { "api/v1/workflows", "api/v1/workflows?page=abc", "api/v1/workflows?page_size=0" })
        {
            await observed.SendAsync(client, HttpMethod.Get, Workflows, url);
        }

        await observed.SendAsync(anonymous, HttpMethod.Get, Workflows, "api/v1/workflows");
        foreach (var (who, url) in new[] { (client, $"api/v1/workflows/{id}"), (client, "api/v1/workflows/wf_missing"), (anonymous, $"api/v1/workflows/{id}") })
        {
            await observed.SendAsync(who, HttpMethod.Get, One, url);
        }

        foreach (var (who, url) in new[]
        {
            (client, $"api/v1/workflows/{id}/events"), (client, $"api/v1/workflows/{id}/events?after=abc"), (client, "api/v1/workflows/wf_missing/events"),
            (client, $"api/v1/workflows/{id}/events?limit=0"), (anonymous, $"api/v1/workflows/{id}/events"),
        })
        {
            await observed.SendAsync(who, HttpMethod.Get, Events, url);
        }

        await observed.SendAsync(client, HttpMethod.Delete, One, $"api/v1/workflows/{id}");
        await observed.SendAsync(anonymous, HttpMethod.Delete, One, $"api/v1/workflows/{id}");

        await ObserveApprovalsAsync(observed);
        await ObserveAgUiInterruptsAsync(observed);

        await observed.SendAsync(client, HttpMethod.Delete, One, "api/v1/workflows/wf_missing");

        // The engine stops first in a shutdown, while the HTTP server still answers: new work is refused.
        await using (var stopping = new FelixApplication(new Dictionary<string, string?> { ["FELIX_API_KEY"] = Key }))
        {
            using var stoppingClient = stopping.CreateApiClient();
            await stopping.StopEngineAsync();
            await observed.SendAsync(stoppingClient, HttpMethod.Post, Workflows, "api/v1/workflows", Json(new { task = "Too late" }));
            await observed.SendAsync(stoppingClient, HttpMethod.Post, AgUi, "api/v1/agui", AgUiRun("thread-stopping"));
        }

        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "/api/v1/system/status"), (HttpMethod.Post, "/api/v1/system/start"), (HttpMethod.Post, "/api/v1/system/stop"),
            (HttpMethod.Get, "/api/v1/agents"), (HttpMethod.Get, "/api/v1/agents/plugins"),
        })
        {
            await observed.SendAsync(client, method, path, path.TrimStart('/'));
            await observed.SendAsync(anonymous, method, path, path.TrimStart('/'));
        }

        foreach (var (who, url) in new[] { (client, "api/v1/agents/plugins/research"), (client, "api/v1/agents/plugins/wizard"), (anonymous, "api/v1/agents/plugins/research") })
        {
            await observed.SendAsync(who, HttpMethod.Get, "/api/v1/agents/plugins/{agentType}", url);
        }

        var paths = JsonNode.Parse(await anonymous.GetStringAsync("openapi/v1.json").DefaultTimeout())!["paths"]!.AsObject();
        var declared = paths.SelectMany(path => path.Value!.AsObject().Select(op => (Operation: $"{op.Key} {path.Key}", Responses: op.Value!["responses"]!.AsObject())))
            .ToDictionary(op => op.Operation, op => op.Responses);
        Assert.Equal(declared.Keys.Order(), observed.ByOperation.Keys.Order());
        foreach (var (operation, responses) in declared)
        {
            var answered = observed.ByOperation[operation];
            Assert.True(
                responses.Select(r => int.Parse(r.Key, System.Globalization.CultureInfo.InvariantCulture)).Order().SequenceEqual(answered.Keys.Order()),
                $"{operation} declares {string.Join(", ", responses.Select(r => r.Key))} but answered {string.Join(", ", answered.Keys.Order())}");
            foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5'))
            {
                var examples = ProblemExamples(response!);
                Assert.True(examples.Count > 0, $"{operation} {status} has no problem example");
                var problems = answered[int.Parse(status, System.Globalization.CultureInfo.InvariantCulture)];
                Assert.True(problems.SetEquals(examples),
                    $"{operation} {status} declares {string.Join("; ", examples.Order())} but answered {string.Join("; ", problems.Order())}");
            }
        }
    }

    /// <summary>The (type, title) of a response's problem example, or of each of its named examples.</summary>
    private static HashSet<(string? Type, string? Title)> ProblemExamples(JsonNode response)
    {
        var media = response["content"]?["application/problem+json"];
        var bodies = media?["example"] is { } one ? [one] : media?["examples"]?.AsObject().Select(e => e.Value!["value"]!).ToList() ?? [];
        return bodies.Select(b => (b["type"]?.GetValue<string>(), b["title"]?.GetValue<string>())).ToHashSet();
    }

    private static JsonContent Json(object body) => JsonContent.Create(body);

    /// <summary>A JSON body sent as <c>text/plain</c>, as a form or a careless client sends it: 415.</summary>
    private static StringContent NotJson(string body) => new(body, Encoding.UTF8, "text/plain");

    private static JsonContent AgUiRun(string threadId, object? forwardedProps = null) => Json(new
    {
        threadId,
        runId = "run-1",
        messages = new[] { new { id = "message-1", role = "user", content = "Explain quantum computing" } },
        forwardedProps = forwardedProps ?? new { max_steps = 1 },
    });

    /// <summary>The approval routes, on a server of their own: a reader key without the approve scope, and a waiting workflow.</summary>
    private static async Task ObserveApprovalsAsync(Observed observed)
    {
        const string List = "/api/v1/workflows/{workflowId}/approvals";
        const string Decide = "/api/v1/workflows/{workflowId}/approvals/{approvalId}";
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["FELIX_API_KEY"] = Key,
            ["Felix:Security:ApiKeys:0:Key"] = "reader-key-0001",
            // No revision allowed, so a revise shows the third 409.
            ["Felix:Approvals:MaxRevisionsPerStep"] = "0",
        }).WithServices(FaultyWorkflowStore.Replace);
        using var client = app.CreateApiClient();
        using var reader = app.CreateApiClient("reader-key-0001");
        using var anonymous = app.CreateClient();
        var id = await Felix.Tests.Approvals.ApprovalTestSupport.CreateWithApprovalAsync(client, new { before_synthesis = true }, maxSteps: 1);
        var pending = await Felix.Tests.Approvals.ApprovalTestSupport.WaitForPendingApprovalAsync(client, id);
        var url = $"api/v1/workflows/{id}/approvals/{pending.ApprovalId}";

        foreach (var (who, path) in new[] { (client, $"api/v1/workflows/{id}/approvals"), (client, "api/v1/workflows/wf_missing/approvals"), (anonymous, $"api/v1/workflows/{id}/approvals") })
        {
            await observed.SendAsync(who, HttpMethod.Get, List, path);
        }

        await observed.SendAsync(anonymous, HttpMethod.Post, Decide, url, Json(new { decision = "approve" }));
        await observed.SendAsync(reader, HttpMethod.Post, Decide, url, Json(new { decision = "approve" }));
        await observed.SendAsync(client, HttpMethod.Post, Decide, url, new StringContent("{", Encoding.UTF8, "application/json"));
        await observed.SendAsync(client, HttpMethod.Post, Decide, url, Json(new { decision = "maybe" }));
        await observed.SendAsync(client, HttpMethod.Post, Decide, url, NotJson("{\"decision\":\"approve\"}")); // 415
        await observed.SendAsync(client, HttpMethod.Post, Decide, $"api/v1/workflows/{id}/approvals/apr_missing", Json(new { decision = "approve" }));
        await observed.SendAsync(client, HttpMethod.Post, Decide, url, Json(new { decision = "revise", comment = "Shorter." }));
        await observed.SendAsync(client, HttpMethod.Post, Decide, url, Json(new { decision = "approve" }));
        await observed.SendAsync(client, HttpMethod.Post, Decide, url, Json(new { decision = "reject" }));

        // 409 again, for the other reason: the request is still open but its workflow ended. A cancel now withdraws the
        // request in the update that ends the workflow, so only a record an older server finished this way shows it:
        // written here straight to the store.
        var cancelledId = await Felix.Tests.Approvals.ApprovalTestSupport.CreateWithApprovalAsync(client, new { before_synthesis = true }, maxSteps: 1);
        var orphan = await Felix.Tests.Approvals.ApprovalTestSupport.WaitForPendingApprovalAsync(client, cancelledId);
        Assert.NotNull(await app.Services.GetRequiredService<IWorkflowStore>()
            .UpdateAsync(cancelledId, w => w with { Status = Felix.Contracts.WorkflowStatuses.Cancelled, CompletedAt = DateTimeOffset.UtcNow }).DefaultTimeout());
        await observed.SendAsync(client, HttpMethod.Post, Decide, $"api/v1/workflows/{cancelledId}/approvals/{orphan.ApprovalId}", Json(new { decision = "approve" }));

        // Storage that cannot be read or written (a disk I/O error) makes every route that needs it answer 503.
        app.Services.GetRequiredService<FaultyWorkflowStore>().Failing = true;
        await observed.SendAsync(client, HttpMethod.Get, List, $"api/v1/workflows/{id}/approvals");
        await observed.SendAsync(client, HttpMethod.Post, Decide, url, Json(new { decision = "approve" }));
        await observed.SendAsync(client, HttpMethod.Post, "/api/v1/workflows", "api/v1/workflows", Json(new { task = "No disk" }));
        await observed.SendAsync(client, HttpMethod.Delete, "/api/v1/workflows/{workflowId}", $"api/v1/workflows/{id}");
        await observed.SendAsync(client, HttpMethod.Post, "/api/v1/agui", "api/v1/agui", AgUiRun("thread-no-disk"));
    }

    /// <summary>The application's workflow store, until <see cref="Failing"/>: then every call fails as a broken disk does.</summary>
    private sealed class FaultyWorkflowStore(IWorkflowStore inner) : DelegatingWorkflowStore(inner)
    {
        private const int SqliteIoError = 10;

        public volatile bool Failing;

        public static void Replace(IServiceCollection services) => Decorate(services, inner => new FaultyWorkflowStore(inner));

        public override Task CreateAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default) =>
            Failing ? Fail<bool>() : base.CreateAsync(workflow, cancellationToken);

        public override Task<WorkflowRecord?> GetAsync(string id, CancellationToken cancellationToken = default) =>
            Failing ? Fail<WorkflowRecord?>() : base.GetAsync(id, cancellationToken);

        public override Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default) =>
            Failing ? Fail<WorkflowRecord?>() : base.UpdateAsync(id, update, cancellationToken);

        public override Task<(IReadOnlyList<WorkflowRecord> Items, int Total)> ListAsync(string? status, string? owner, int page, int pageSize, CancellationToken cancellationToken = default) =>
            Failing ? Fail<(IReadOnlyList<WorkflowRecord>, int)>() : base.ListAsync(status, owner, page, pageSize, cancellationToken);

        private static Task<T> Fail<T>() => Task.FromException<T>(new SqliteException("SQLite Error 10: 'disk I/O error'.", SqliteIoError));
    }

    /// <summary>An AG-UI run that waits for an approval, and resume entries refused before its stream: scope, tenant, stale.</summary>
    private static async Task ObserveAgUiInterruptsAsync(Observed observed)
    {
        const string AgUi = "/api/v1/agui";
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["FELIX_API_KEY"] = Key,
            ["Felix:Security:ApiKeys:0:Key"] = "reader-key-0001",
        });
        using var client = app.CreateApiClient();
        using var reader = app.CreateApiClient("reader-key-0001");
        var run = await observed.SendAsync(client, HttpMethod.Post, AgUi, "api/v1/agui",
            AgUiRun("thread-approval", new { max_steps = 1, approval = new { before_synthesis = true } }));
        var end = (await run.Content.ReadAsStringAsync().DefaultTimeout()).Split('\n')
            .Where(line => line.StartsWith("data: ", StringComparison.Ordinal)).Select(line => JsonNode.Parse(line[6..])!).Last();
        var interruptId = end["outcome"]!["interrupts"]![0]!["id"]!.GetValue<string>();
        var workflowId = interruptId[..interruptId.IndexOf('.', StringComparison.Ordinal)];
        await client.PostAsJsonAsync($"api/v1/workflows/{workflowId}/approvals/apr_synthesis_1", new { decision = "approve" }).DefaultTimeout();

        await observed.SendAsync(reader, HttpMethod.Post, AgUi, "api/v1/agui", AgUiResume("thread-approval", interruptId, "approve"));
        await observed.SendAsync(client, HttpMethod.Post, AgUi, "api/v1/agui", AgUiResume("thread-approval", interruptId, "reject"));
        await observed.SendAsync(client, HttpMethod.Post, AgUi, "api/v1/agui", AgUiResume("thread-approval", "wf_missing.apr_synthesis_1", "approve"));
    }

    private static JsonContent AgUiResume(string threadId, string interruptId, string decision) => Json(new
    {
        threadId,
        runId = "run-2",
        messages = new[] { new { id = "message-1", role = "user", content = "Explain quantum computing" } },
        resume = new[] { new { interruptId, status = "resolved", payload = new { decision } } },
    });
}
