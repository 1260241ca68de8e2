using Felix.Server.Platform;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;

namespace Felix.Tests.Platform;

/// <summary>How the server's host is built from its command line: content root and the settings files.</summary>
public sealed class BuilderOptionsTests
{
    // Watching a settings file watches the whole content root, and the data directory lies inside it by default: every
    // write of the SQLite log would wake the watcher.
    [Fact]
    public void TheSettingsFilesAreReadOnceUnlessReloadingIsAskedFor()
    {
        Assert.All(JsonSources([]), source => Assert.False(source.ReloadOnChange, source.Path));
        Assert.All(JsonSources(["--hostBuilder:reloadConfigOnChange=true"]), source => Assert.True(source.ReloadOnChange, source.Path));
    }

    private static List<JsonConfigurationSource> JsonSources(string[] args)
    {
        var builder = WebApplication.CreateBuilder(FelixStartupExtensions.BuilderOptions(args));
        var sources = builder.Configuration.Sources.OfType<JsonConfigurationSource>().ToList();
        Assert.NotEmpty(sources);
        return sources;
    }
}
