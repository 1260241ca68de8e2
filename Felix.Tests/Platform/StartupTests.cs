using Felix.Server.Storage;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Platform;

/// <summary>The real server process at start: what it refuses, how it says so, and what it reports when it runs.</summary>
public sealed class StartupTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _files = new();

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_files.Directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _files.DisposeAsync().AsTask();

    private Dictionary<string, string> Settings(params (string Key, string Value)[] more) =>
        StorageTestSettings.SqliteFile(_files.Directory, more).ToDictionary(p => p.Key, p => p.Value!);

    [Fact]
    public async Task InvalidSettingsStopTheServerWithOneLinePerProblemNamingEachPath()
    {
        var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings(
            ("Felix:Workflows:MaxConcurrent", "-1"),
            ("Felix:Streaming:MaxEventsPerWorkflow", "0"),
            ("Felix:Llm:Provider", "Nope")));

        Assert.Equal(1, result.ExitCode);
        var lines = result.Lines.Where(l => l.Length > 0).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Contains(lines, l => l.Contains("Felix:Workflows:MaxConcurrent: The field MaxConcurrent must be between 1 and 256.", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Felix:Streaming:MaxEventsPerWorkflow: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Felix:Llm:Provider must be 'Offline' or 'OpenAI', not 'Nope'.", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Contains("crit: ", l, StringComparison.Ordinal));
        Assert.Equal("", result.Stderr);
        // Nothing was started: no database was created.
        Assert.False(File.Exists(_files.File));
    }

    [Fact]
    public async Task ANegativeOrTooLongDurationStopsTheServerWithOneLineNamingEachPath()
    {
        // Each of these started, then failed later: raw WebSocket connects (negative ping), DELETE (negative cancel
        // wait) and model calls answered 500s, and a retention interval past a timer's range stopped the host with a stack.
        var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings(
            ("Felix:Streaming:PingInterval", "-00:00:05"),
            ("Felix:Workflows:CancelWait", "-00:00:05"),
            ("Felix:Storage:RetentionInterval", "60.00:00:00"),
            ("Felix:Approvals:DeadlineCheckInterval", "60.00:00:00"),
            ("Felix:Llm:RequestTimeout", "2.00:00:00"),
            ("Felix:Llm:Provider", "Nope")));

        Assert.Equal(1, result.ExitCode);
        var lines = result.Lines.Where(l => l.Length > 0).ToList();
        Assert.Equal(6, lines.Count);
        Assert.Contains(lines, l => l.Contains("Felix:Streaming:PingInterval: must be from 00:00:00 to 49.00:00:00, or -00:00:00.001 for none, not -00:00:05.", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Felix:Workflows:CancelWait: must be from 00:00:00 to 49.00:00:00, not -00:00:05.", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Felix:Storage:RetentionInterval: must be from 00:00:00.001 to 49.00:00:00, not 60.00:00:00.", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Felix:Approvals:DeadlineCheckInterval: must be from 00:00:00.001 to 49.00:00:00, not 60.00:00:00.", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Felix:Llm:RequestTimeout: must be from 00:00:00.010 to 1.00:00:00, not 2.00:00:00.", StringComparison.Ordinal));
        // A property's problem does not hide the section's other checks until the next start.
        Assert.Contains(lines, l => l.Contains("Felix:Llm:Provider must be 'Offline' or 'OpenAI', not 'Nope'.", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Contains("crit: ", l, StringComparison.Ordinal));
        Assert.Equal("", result.Stderr);
        Assert.False(File.Exists(_files.File));
    }

    [Fact]
    public async Task AnInvalidModelEndpointOrTokenSettingStopsTheServerWithOneLineNamingEachPath()
    {
        var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings(
            ("Felix:Llm:Provider", "OpenAI"),
            ("Felix:Llm:Endpoint", "notaurl"),
            ("Felix:Security:Jwt:SigningKey", "thirty-one-bytes-is-one-too-few"),
            ("Felix:Security:Jwt:Authority", "login.example.com"),
            ("Felix:Security:Jwt:ClockSkew", "2.00:00:00")));

        Assert.Equal(1, result.ExitCode);
        var lines = result.Lines.Where(l => l.Length > 0).ToList();
        Assert.Equal(4, lines.Count);
        // A skew of days was taken: every expired (or revoked-by-expiry) token stayed good for that long.
        Assert.Contains(lines, l => l.Contains("Felix:Security:Jwt:ClockSkew must be from 00:00:00 to 01:00:00.", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Felix:Llm:Endpoint must be an absolute http or https address", StringComparison.Ordinal) && l.Contains("not 'notaurl'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Felix:Security:Jwt:SigningKey must be at least 32 bytes", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Felix:Security:Jwt:Authority must be an absolute http or https address", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Contains("crit: ", l, StringComparison.Ordinal));
        // The key is a secret: the line says what is wrong with it, never what it is.
        Assert.DoesNotContain(lines, l => l.Contains("thirty-one-bytes", StringComparison.Ordinal));
        Assert.Equal("", result.Stderr);
        Assert.False(File.Exists(_files.File));
    }

    [Fact]
    public async Task KeysThatCannotBeToldApartStopTheServerWithOneLineEachNeverPrintingAKey()
    {
        var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings(
            ("Felix:Security:ApiKeys:0:Key", "acme-first-key-0001"),
            ("Felix:Security:ApiKeys:0:Tenant", "acme"),
            ("Felix:Security:ApiKeys:0:Name", "ci"),
            ("Felix:Security:ApiKeys:1:Key", "acme-second-key-0002"),
            ("Felix:Security:ApiKeys:1:Tenant", "acme"),
            ("Felix:Security:ApiKeys:1:Name", "ci"),
            ("Felix:Security:ApiKeys:2:Key", "acme-first-key-0001"),
            ("Felix:Security:ApiKeys:2:Tenant", "globex"),
            ("Felix:Security:ApiKeys:3:Key", "globex-key-0003"),
            ("Felix:Security:ApiKeys:3:Tenant", "globex"),
            ("Felix:Security:ApiKeys:3:Name", "not a name")));

        Assert.Equal(1, result.ExitCode);
        var lines = result.Lines.Where(l => l.Length > 0).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Contains(lines, l => l.Contains(
            "Felix:Security:ApiKeys:1:Name: 'ci' already names ApiKeys:0 of tenant 'acme': give each key of a tenant a name of its own.", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(
            "Felix:Security:ApiKeys:2:Key: the same key as ApiKeys:0: each key must be different.", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(
            "Felix:Security:ApiKeys:3:Name: 'not a name' is not a key name: use 1 to 64 letters, digits, '.', '_' or '-'.", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Contains("crit: ", l, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("-key-000", StringComparison.Ordinal));
        Assert.False(File.Exists(_files.File));
    }

    // FELIX_API_KEY is a key of its own (api-key:default, admin): the same secret in ApiKeys made two principals of one
    // key, and which one a request became depended on the order of the ring.
    [Fact]
    public async Task AKeyThatIsAlsoFelixApiKeyStopsTheServerWithOneLineNeverPrintingIt()
    {
        var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings(
            ("Felix:Security:ApiKeys:0:Key", "acme-own-key-0001"),
            ("Felix:Security:ApiKeys:0:Tenant", "acme"),
            ("Felix:Security:ApiKeys:1:Key", "shared-key-0002"),
            ("Felix:Security:ApiKeys:1:Tenant", "acme"),
            ("FELIX_API_KEY", "shared-key-0002")));

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Lines, l => l.Length > 0);
        Assert.Contains("Felix:Security:ApiKeys:1:Key: the same key as FELIX_API_KEY: each key must be different.", line, StringComparison.Ordinal);
        Assert.Contains("crit: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("-key-000", line, StringComparison.Ordinal);
        Assert.False(File.Exists(_files.File));
    }

    // A role no agent has never waits: the server started, and every output it was meant to hold went through unreviewed.
    [Fact]
    public async Task AnApprovalRoleThatNoAgentHasStopsTheServerNamingIt()
    {
        var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings(
            ("Felix:Approvals:AgentTypes:0", "critic"), ("Felix:Approvals:AgentTypes:1", "critics")));

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Lines, l => l.Length > 0);
        Assert.Contains("Felix:Approvals:AgentTypes: may only name research, analysis, critic, not 'critics'.", line, StringComparison.Ordinal);
        Assert.False(File.Exists(_files.File));
    }

    [Fact]
    public async Task ASettingThatDoesNotParseIsNamedWithTheValuesItAccepts()
    {
        var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings(("Felix:Storage:Synchronous", "Sometimes")));

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Lines, l => l.Length > 0);
        Assert.Contains("'Felix:Storage:Synchronous'", line, StringComparison.Ordinal);
        Assert.EndsWith("Allowed: Normal, Full.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProductionWithoutCredentialsRefusesToStartUnlessAnonymousIsAllowed()
    {
        var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings(("Felix:Security:AllowAnonymous", "false")));

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Lines, l => l.Length > 0);
        Assert.Contains("no credentials are configured in Production", line, StringComparison.Ordinal);
        Assert.Contains("Felix:Security:AllowAnonymous=true", line, StringComparison.Ordinal);
        Assert.False(File.Exists(_files.File));

        await using var keyed = await ServerProcess.StartAsync(_files.Directory, Settings(("Felix:Security:AllowAnonymous", "false"), ("FELIX_API_KEY", "k-startup-test")));
        using var http = new HttpClient { BaseAddress = keyed.BaseAddress };
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.GetAsync("api/v1/workflows").DefaultTimeout()).StatusCode);
    }

    [Fact]
    public async Task AnUnusableDataDirectoryStopsTheServerWithOneLineNamingIt()
    {
        // A file where the directory should be.
        var blocked = Path.Combine(_files.Directory, "not-a-directory");
        await File.WriteAllTextAsync(blocked, "");

        var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings(("Felix:Storage:DataDirectory", blocked)));

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Lines, l => l.Length > 0);
        Assert.Contains($"Data directory {blocked} is not usable (Felix:Storage:DataDirectory): ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReadOnlyDataDirectoryStopsTheServerWithOneLineNamingIt()
    {
        // A real read-only filesystem: the tests run as root, for whom a directory's mode bits do not make it read-only.
        var readOnly = Path.Combine(_files.Directory, "read-only");
        Directory.CreateDirectory(readOnly);
        await MountAsync("-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", readOnly);
        try
        {
            var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings(("Felix:Storage:DataDirectory", readOnly)));

            Assert.Equal(1, result.ExitCode);
            var line = Assert.Single(result.Lines, l => l.Length > 0);
            Assert.Contains($"Data directory {readOnly} is not usable (Felix:Storage:DataDirectory): Read-only file system", line, StringComparison.Ordinal);
            Assert.Equal("", result.Stderr);
        }
        finally
        {
            await ChildProcess.RunAsync(ChildProcess.StartInfo("umount", [readOnly]), TimeSpan.FromSeconds(30));
        }
    }

    private static async Task MountAsync(params string[] arguments)
    {
        var mounted = await ChildProcess.RunAsync(ChildProcess.StartInfo("mount", arguments), TimeSpan.FromSeconds(30));
        Assert.True(mounted.ExitCode == 0, $"mount failed (the test needs root for a tmpfs): {mounted.Stderr}");
    }

    [Fact]
    public async Task ADatabaseFileThatIsNotADatabaseStopsTheServerWithOneLineNamingIt()
    {
        await File.WriteAllBytesAsync(_files.File, System.Security.Cryptography.RandomNumberGenerator.GetBytes(16 * 1024));

        var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings());

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Lines, l => l.Length > 0);
        Assert.Contains($"Database {_files.File} is not usable (Felix:Storage:Database in Felix:Storage:DataDirectory): ", line, StringComparison.Ordinal);
        Assert.Contains("file is not a database", line, StringComparison.Ordinal);
        Assert.Contains("crit: ", line, StringComparison.Ordinal);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task ADirectoryWhereTheDatabaseFileShouldBeStopsTheServerWithOneLineNamingIt()
    {
        Directory.CreateDirectory(_files.File);

        var result = await ServerProcess.RunToExitAsync(_files.Directory, Settings());

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Lines, l => l.Length > 0);
        Assert.Contains($"Database {_files.File} is not usable (Felix:Storage:Database in Felix:Storage:DataDirectory): ", line, StringComparison.Ordinal);
        Assert.Contains("unable to open database file", line, StringComparison.Ordinal);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task TheStartLogNamesAddressesStoreNodeModelAndAuthentication()
    {
        var settings = Settings(("Logging:LogLevel:Felix.Server.Startup", "Information"));
        await using var server = await ServerProcess.StartAsync(_files.Directory, settings);
        // The addresses are logged once the host has started, just after Kestrel's own line.
        await Poll.UntilAsync(() => Task.FromResult(server.Output.Any(l => l.Contains("Listening on ", StringComparison.Ordinal))), "the addresses line");
        var lines = server.Output;

        Assert.Contains(lines, l => l.Contains($"Listening on {server.BaseAddress.ToString().TrimEnd('/')}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"Store: Sqlite at {_files.File}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Scale-out: off", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Model: Offline", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("No API key is configured", StringComparison.Ordinal));
        // Console lines start with a UTC timestamp.
        Assert.All(lines.Where(l => l.Contains("Felix.Server.Startup", StringComparison.Ordinal)),
            l => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", l));
    }
}
