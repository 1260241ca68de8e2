using Felix.Tests.Infrastructure;

namespace Felix.Tests.Client;

/// <summary>Runs the <c>felix</c> console app as a user runs it: <c>dotnet Felix.Cli.dll ...</c>, output piped (not a terminal).</summary>
internal static class CliProcess
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    public static string CliPath => Path.Combine(
        ChildProcess.RepositoryRoot, "clients", "dotnet", "Felix.Cli", "bin", ChildProcess.BuildConfiguration, "net10.0", "Felix.Cli.dll");

    public static Task<ChildProcess.Result> RunAsync(string? apiKey, params string[] args)
    {
        Assert.True(File.Exists(CliPath), $"{CliPath} is missing: Felix.Tests builds it through its project reference.");
        return ChildProcess.RunAsync(ChildProcess.StartInfo("dotnet", [CliPath, .. args]).WithApiKey(apiKey), RunTimeout);
    }
}
