using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace Felix.Server.Platform;

/// <summary>
/// Serves the browser dashboard (<c>clients/web</c>, copied into the output as <c>wwwroot</c> by the csproj) at <c>/</c>.
/// The files are public: the page holds no data, and every call it makes goes through the API key like any client.
/// </summary>
internal static partial class DashboardExtensions
{
    public const string FolderName = "wwwroot";

    /// <summary>
    /// Only the page's own scripts and styles, and connections back to this server (CSP 3 lets <c>'self'</c> cover
    /// the same host's <c>ws:</c>/<c>wss:</c>, which the hub uses).
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public static WebApplication UseDashboard(this WebApplication app)
    {
        var options = app.Configuration.GetSection(DashboardOptions.SectionName).Get<DashboardOptions>() ?? new DashboardOptions();
        if (!options.Enabled)
        {
            return app;
        }

        var root = string.IsNullOrWhiteSpace(options.Root)
            ? Path.Combine(AppContext.BaseDirectory, FolderName)
            : Path.GetFullPath(options.Root, app.Environment.ContentRootPath);
        if (!File.Exists(Path.Combine(root, "index.html")))
        {
            if (!string.IsNullOrWhiteSpace(options.Root))
            {
                throw new InvalidOperationException(
                    $"{DashboardOptions.SectionName}:Root is '{root}', which has no index.html. Point it at clients/web or remove it.");
            }

            LogMissing(app.Logger, root);
            return app;
        }

        var files = new PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                // Revalidate every time (ETag makes it cheap), so a server upgrade never runs against a stale page.
                headers.CacheControl = "no-cache";
                headers.XContentTypeOptions = "nosniff";
                // The dashboard only: compat.html is a single-file page in the original's style (inline script and style,
                // made to be opened from disk), and this policy would block it when it is served from here.
                if (string.Equals(context.File.Name, "index.html", StringComparison.OrdinalIgnoreCase))
                {
                    headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
                }
            },
        });
        return app;
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "The dashboard is not served: no index.html under {Root}.")]
    private static partial void LogMissing(ILogger logger, string root);
}
