namespace Felix.Tests.Web;

/// <summary>Paths in the source tree, found from the test binaries by walking up to Felix.sln.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string WebClient => Path.Combine(Root, "clients", "web");

    public static string BrowserTests => Path.Combine(Root, "tests", "browser");

    /// <summary>Screenshots and the driver's summary, kept with the test output.</summary>
    public static string Screenshots => Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Felix.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Felix.sln above {AppContext.BaseDirectory}.");
    }
}
