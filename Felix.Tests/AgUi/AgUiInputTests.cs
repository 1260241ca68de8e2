using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.AgUi;

/// <summary>
/// Malformed and oversized input to <c>POST /api/v1/agui</c>: refused with a problem before any stream, never a 500, and
/// never costing more than a run's worth of work.
/// </summary>
public sealed class AgUiInputTests
{
    private const string Task = "Explain quantum computing";

    // A JSON null in the list deserializes as a null entry, which was dereferenced: a 500 for a merely malformed body.
    [Fact]
    public async Task ANullMessageIsRefusedWith422NamingMessages()
    {
        await using var app = new FelixApplication(kestrel: true);
        using var client = app.CreateApiClient();

        using var response = await client.PostAsJsonAsync("api/v1/agui", new
        {
            threadId = "thread-null",
            runId = "run-1",
            messages = new object?[] { null, new { id = "message-1", role = "user", content = Task } },
        }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("messages must be a list of message objects (id, role, content).", problem["errors"]!["messages"]![0]!.GetValue<string>());
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonObject>("api/v1/workflows").DefaultTimeout())!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task AParentWorkflowThatDoesNotExistIsRefusedWith422()
    {
        await using var app = new FelixApplication(kestrel: true);
        using var client = app.CreateApiClient();

        using var response = await client.PostAsJsonAsync("api/v1/agui", new
        {
            threadId = "thread-parent",
            runId = "run-1",
            messages = new object[] { new { id = "message-1", role = "user", content = Task } },
            forwardedProps = new { parent_workflow_id = "wf_0000000000000000" },
        }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(
            "parent_workflow_id names no workflow of yours ('wf_0000000000000000').",
            problem["errors"]!["forwardedProps.parent_workflow_id"]![0]!.GetValue<string>());
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonObject>("api/v1/workflows").DefaultTimeout())!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task AnApprovalFieldTheServerDoesNotKnowIsRefusedWith422()
    {
        await using var app = new FelixApplication(kestrel: true);
        using var client = app.CreateApiClient();

        using var response = await client.PostAsJsonAsync("api/v1/agui", new
        {
            threadId = "thread-misspelt",
            runId = "run-1",
            messages = new object[] { new { id = "message-1", role = "user", content = Task } },
            forwardedProps = new { approval = new { every_agnet = true } },
        }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var errors = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsObject();
        Assert.Equal(["forwardedProps.approval.every_agnet"], errors.Select(e => e.Key));
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonObject>("api/v1/workflows").DefaultTimeout())!["total"]!.GetValue<int>());
    }

    // An answer repeated by its own decider is accepted (a client whose resumed run dropped sends it again), and each entry
    // costs store reads and a conditional write: a body of one decided interrupt a thousand times was a thousand of them.
    // An interrupt id was as long as the body allowed, looked up in the store and echoed in the 404.
    [Fact]
    public async Task ResumeEntriesAreBoundedInNumberAndInTheLengthOfTheirIds()
    {
        await using var app = new FelixApplication(kestrel: true);
        using var client = app.CreateApiClient();
        var first = await (await client.PostRunAsync("thread-bounds", "run-1", Task, new { max_steps = 1, approval = new { before_synthesis = true } }))
            .ReadAllEventsAsync();
        var interruptId = first[^1].Event["outcome"]!["interrupts"]![0]!["id"]!.GetValue<string>();
        var approve = new { interruptId, status = "resolved", payload = new { decision = "approve" } };
        var answered = await (await client.PostRunAsync("thread-bounds", "run-2", Task, resume: [approve])).ReadAllEventsAsync();
        Assert.Equal("success", answered[^1].Event["outcome"]!["type"]!.GetValue<string>());

        using var many = await client.PostRunAsync("thread-bounds", "run-3", Task, resume: [.. Enumerable.Repeat<object>(approve, 1_000)]);
        using var tooLong = await client.PostRunAsync("thread-bounds", "run-3", Task,
            resume: [new { interruptId = $"wf_{new string('0', 100_000)}.apr_synthesis_1", status = "resolved", payload = new { decision = "approve" } }]);
        // Sixteen entries are within the bound: each is read and refused for what it names (an interrupt answered twice
        // in one request is refused too), not for their number.
        using var fewEnough = await client.PostRunAsync("thread-bounds", "run-4", Task, resume: [.. Enumerable.Repeat<object>(approve, 16)]);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, many.StatusCode);
        Assert.Equal("resume may answer at most 16 interrupts.",
            JsonNode.Parse(await many.Content.ReadAsStringAsync())!["errors"]!["resume"]![0]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooLong.StatusCode);
        var invalid = await tooLong.Content.ReadAsStringAsync();
        Assert.NotNull(JsonNode.Parse(invalid)!["errors"]!["resume[0].interruptId"]);
        Assert.True(invalid.Length < 1_000, "the problem does not echo the id");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, fewEnough.StatusCode);
        var errors = JsonNode.Parse(await fewEnough.Content.ReadAsStringAsync())!["errors"]!.AsObject();
        Assert.Equal([.. Enumerable.Range(1, 15).Select(i => $"resume[{i}].interruptId")], errors.Select(e => e.Key));
        Assert.Equal(WorkflowStatuses.Completed, (await client.GetWorkflowAsync(first.WorkflowOf())).Status);
    }
}
