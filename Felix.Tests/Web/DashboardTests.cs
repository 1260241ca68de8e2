using System.Net;
using Felix.Server.Platform;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Web;

/// <summary>The dashboard's files as the server serves them (TestServer); the browser run is in DashboardBrowserTests.</summary>
public sealed class DashboardTests
{
    [Fact]
    public async Task TheRawWebSocketCompatibilityPageIsServedWithoutTheDashboardsScriptPolicy()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateClient();

        var response = await client.GetAsync("compat.html").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Content-Security-Policy"), "its inline script would be blocked");
        Assert.Contains("<script>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RootServesTheDashboardPage()
    {
        await using var app = new FelixApplication();
        using var client = app.CreateClient();

        var response = await client.GetAsync("/").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(DashboardExtensions.ContentSecurityPolicy, response.Headers.GetValues("Content-Security-Policy").Single());
        var html = await response.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.Contains("<title>Felix Server dashboard</title>", html, StringComparison.Ordinal);
        Assert.Contains("src=\"lib/signalr.min.js\"", html, StringComparison.Ordinal);
        Assert.Contains("src=\"lib/signalr-protocol-msgpack.min.js\"", html, StringComparison.Ordinal);
        Assert.Contains("src=\"js/app.js\"", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lib/signalr.min.js")]
    [InlineData("lib/signalr-protocol-msgpack.min.js")]
    [InlineData("js/app.js")]
    [InlineData("css/dashboard.css")]
    public async Task ServesTheCommittedClientFiles(string path)
    {
        await using var app = new FelixApplication();
        using var client = app.CreateClient();

        var response = await client.GetAsync(path).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        var served = await response.Content.ReadAsByteArrayAsync().DefaultTimeout();
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(RepositoryPaths.WebClient, path)), served);
    }

    [Theory]
    [InlineData("package.json")]
    [InlineData("package-lock.json")]
    [InlineData("scripts/vendor.mjs")]
    [InlineData("node_modules/@microsoft/signalr/package.json")]
    public async Task NpmFilesAreNotServed(string path)
    {
        await using var app = new FelixApplication();
        using var client = app.CreateClient();

        var response = await client.GetAsync(path).DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task DashboardCanBeTurnedOff()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Felix:Dashboard:Enabled"] = "false" });
        using var client = app.CreateClient();

        var response = await client.GetAsync("lib/signalr.min.js").DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("@microsoft/signalr/dist/browser/signalr.min.js", "signalr.min.js")]
    [InlineData("@microsoft/signalr-protocol-msgpack/dist/browser/signalr-protocol-msgpack.min.js", "signalr-protocol-msgpack.min.js")]
    public async Task VendoredFilesEqualThePinnedNpmPackages(string package, string vendored)
    {
        var installed = Path.Combine(RepositoryPaths.WebClient, "node_modules", package);
        Assert.True(File.Exists(installed), $"{installed} is missing: run scripts/install-test-deps.sh (npm ci in clients/web).");

        var expected = await File.ReadAllBytesAsync(installed);
        var actual = await File.ReadAllBytesAsync(Path.Combine(RepositoryPaths.WebClient, "lib", vendored));

        Assert.True(expected.AsSpan().SequenceEqual(actual), $"lib/{vendored} differs from node_modules: run `npm run vendor` in clients/web.");
    }
}
