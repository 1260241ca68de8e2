using Felix.Tests.Infrastructure;

namespace Felix.Tests.Web;

/// <summary>Paths in the source tree, found from the test binaries by walking up to Felix.sln.</summary>
internal static class RepositoryPaths
{
    public static string Root => ChildProcess.RepositoryRoot;

    public static string WebClient => Path.Combine(Root, "clients", "web");

    public static string BrowserTests => Path.Combine(Root, "tests", "browser");

    /// <summary>Screenshots and the driver's summary, kept with the test output.</summary>
    public static string Screenshots => Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");
}
