using Felix.Contracts;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Agents;

/// <summary>What a model call writes to the log at the default levels: nothing per call, one line per failure.</summary>
public sealed class LlmLoggingTests
{
    private static FelixApplication Application(FakeOpenAIServer fake, LogCapture logs, string requestTimeout = "00:02:00") => new FelixApplication(new Dictionary<string, string?>
    {
        ["Felix:Llm:RequestTimeout"] = requestTimeout,
        ["Felix:Llm:Provider"] = "OpenAI",
        ["Felix:Llm:Endpoint"] = fake.Endpoint.ToString(),
        ["Felix:Llm:Model"] = "fake-model",
        ["Felix:Llm:MaxRetries"] = "2",
        // The levels appsettings.json ships with.
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
    }).WithServices(services => services.AddSingleton<ILoggerProvider>(logs));

    private static bool IsPerCallCategory(LogCapture.Entry entry) =>
        entry.Category.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal) || entry.Category.StartsWith("Polly", StringComparison.Ordinal);

    [Fact]
    public async Task AFailedModelCallLogsOneErrorLineWithTheWorkflowAndItsCauseAndNoStack()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.FailWith = 500;
        var logs = new LogCapture();
        await using var app = Application(fake, logs);
        using var client = app.CreateApiClient();
        var before = logs.Entries.Count; // the start-up lines
        var created = await client.CreateWorkflowAsync("This will fail", maxSteps: 1);

        var workflow = await client.WaitForTerminalAsync(created.WorkflowId, TimeSpan.FromSeconds(30));
        var after = logs.Entries.Skip(before).ToList();

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal(3, fake.Requests); // the first attempt and two retries, none of them logged on its own
        var problems = after.Where(e => e.Level >= LogLevel.Warning).ToList();
        var error = Assert.Single(problems);
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Contains(created.WorkflowId, error.Message, StringComparison.Ordinal);
        Assert.Contains("500", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(after, e => e.Level >= LogLevel.Information && e.Exception is not null);
        Assert.DoesNotContain(after, IsPerCallCategory);
    }

    [Fact]
    public async Task AModelThatNeverAnswersLogsOneErrorLineNotOnePerTimedOutAttempt()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.HoldWhen = _ => true;
        var logs = new LogCapture();
        await using var app = Application(fake, logs, requestTimeout: "00:00:00.300");
        using var client = app.CreateApiClient();
        var before = logs.Entries.Count;
        var created = await client.CreateWorkflowAsync("Nobody answers", maxSteps: 1);

        var workflow = await client.WaitForTerminalAsync(created.WorkflowId, TimeSpan.FromSeconds(30));
        var after = logs.Entries.Skip(before).ToList();

        Assert.Equal("The language model did not answer in time.", workflow.Error);
        Assert.Equal(3, fake.Requests); // each attempt timed out
        var error = Assert.Single(after, e => e.Level >= LogLevel.Warning);
        Assert.Contains(created.WorkflowId, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(after, IsPerCallCategory);
    }

    [Fact]
    public async Task AKeyTheServerEchoesInItsErrorIsInNoLogLineAtAnyLevel()
    {
        const string key = "sk-test-0123456789abcdef";
        await using var fake = await FakeOpenAIServer.StartAsync();
        fake.FailWith = 401;
        fake.FailMessage = $"Incorrect API key provided: {key}."; // as some proxies answer
        var logs = new LogCapture();
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Felix:Llm:Provider"] = "OpenAI",
            ["Felix:Llm:Endpoint"] = fake.Endpoint.ToString(),
            ["Felix:Llm:ApiKey"] = key,
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Polly"] = "Trace",
            ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
        }).WithServices(services => services.AddSingleton<ILoggerProvider>(logs));
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Wrong key", maxSteps: 1);

        var workflow = await client.WaitForTerminalAsync(created.WorkflowId, TimeSpan.FromSeconds(30));

        Assert.Equal("The language model endpoint answered HTTP 401: check Felix:Llm:ApiKey (the key the model server expects).", workflow.Error);
        var failure = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains("Incorrect API key provided", failure.Message, StringComparison.Ordinal); // the server's words, without the key
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Debug && e.Exception is not null); // the stack, at Debug
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(key, StringComparison.Ordinal)
            || (e.Exception?.ToString().Contains(key, StringComparison.Ordinal) ?? false));
    }

    [Fact]
    public async Task ASuccessfulModelCallLogsNothingPerCall()
    {
        await using var fake = await FakeOpenAIServer.StartAsync();
        var logs = new LogCapture();
        await using var app = Application(fake, logs);
        using var client = app.CreateApiClient();

        var workflow = await client.WaitForTerminalAsync((await client.CreateWorkflowAsync("Fine", maxSteps: 2)).WorkflowId);
        var after = logs.Entries;

        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.Equal(3, fake.Requests);
        Assert.DoesNotContain(after, IsPerCallCategory);
    }
}
