using System.Text.RegularExpressions;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>
/// The bytes of a frame, not only its parsed fields: the original built every workflow event as
/// <c>{"type": ..., "workflow_id": ..., **data}</c> and the design document shows them so, with <c>timestamp</c> last.
/// </summary>
public sealed partial class CompatWireFormatTests
{
    [Fact]
    public async Task EveryEventFrameStartsWithTypeThenWorkflowIdAndEndsWithTimestamp()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);

        using var socket = await app.ConnectRawAsync(WorkflowPath(workflowId, "types=all"));
        var texts = new List<string>();
        while (await socket.ReceiveTextAsync() is { } text)
        {
            texts.Add(text);
        }

        Assert.NotEmpty(texts);
        Assert.All(texts, text =>
        {
            var frame = System.Text.Json.Nodes.JsonNode.Parse(text)!.AsObject();
            Assert.StartsWith($$"""{"type":"{{frame.Type()}}","workflow_id":"{{workflowId}}",""", text, StringComparison.Ordinal);
            Assert.Matches(EndsWithTimestamp(), text);
        });
    }

    [Fact]
    public async Task TheConnectSnapshotHasTheOriginalsFieldsInTheOriginalsOrder()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);

        using var socket = await app.ConnectRawAsync(WorkflowPath(workflowId));
        await socket.ReceiveTextAsync();
        var snapshot = await socket.ReceiveTextAsync();

        // The original: {"type", "workflow_id", "status", "created_at", "task"}, then the timestamp its sender added.
        Assert.Matches(
            $$"""^\{"type":"workflow_status","workflow_id":"{{workflowId}}","status":"pending","created_at":"[^"]+Z","task":"Explain quantum computing",""",
            snapshot);
        Assert.Matches(EndsWithTimestamp(), snapshot);
    }

    [Fact]
    public async Task TextIsWrittenAsThePythonServerWroteItWithoutUnicodeEscapes()
    {
        await using var app = CreateServer();
        using var client = app.CreateApiClient();
        const string task = "Erkläre \"Quanten\" & <Rechner>";
        var created = await client.CreateWorkflowAsync(task, maxSteps: 1);
        await client.WaitForTerminalAsync(created.WorkflowId);

        using var socket = await app.ConnectRawAsync(WorkflowPath(created.WorkflowId));
        var texts = new List<string>();
        while (await socket.ReceiveTextAsync() is { } text)
        {
            texts.Add(text);
        }

        // The snapshot carries the task, and the offline model's synthesis quotes it.
        var written = """Erkläre \"Quanten\" & <Rechner>""";
        Assert.Contains(written, texts[1], StringComparison.Ordinal);
        Assert.Contains(texts.Where(t => t.Contains("\"type\":\"workflow_complete\"", StringComparison.Ordinal)), t => t.Contains(written, StringComparison.Ordinal));
        Assert.All(texts, t => Assert.DoesNotContain("\\u00", t, StringComparison.Ordinal));
    }

    [Fact]
    public async Task CharactersBeyondTheBasicPlaneAndControlsAreWrittenAsThePythonServerWroteThem()
    {
        await using var app = CreateServer();
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Emoji \U0001F680, line\u2028sep, esc\u001b, del\u007f, tab\t, nl\n", maxSteps: 1);
        await client.WaitForTerminalAsync(created.WorkflowId);

        using var socket = await app.ConnectRawAsync(WorkflowPath(created.WorkflowId));
        await socket.ReceiveTextAsync();
        var snapshot = await socket.ReceiveTextAsync();

        // Python's json.dumps(ensure_ascii=False): the rocket, the line separator and DEL as they are, only the C0
        // controls escaped (\t and \n short, the rest as \u00XX in lower case).
        Assert.Contains("\"task\":\"Emoji \U0001F680, line\u2028sep, esc\\u001b, del\u007f, tab\\t, nl\\n\"", snapshot, StringComparison.Ordinal);
    }

    [GeneratedRegex(""","timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"}$""")]
    private static partial Regex EndsWithTimestamp();
}
