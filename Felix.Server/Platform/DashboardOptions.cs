namespace Felix.Server.Platform;

/// <summary>The browser dashboard served at <c>/</c> (<c>Felix:Dashboard</c>).</summary>
public sealed class DashboardOptions
{
    public const string SectionName = "Felix:Dashboard";

    /// <summary>Serve the dashboard; an API-only deployment turns it off.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Folder holding <c>index.html</c>; relative paths are from the content root. Unset means the <c>wwwroot</c> copy
    /// of <c>clients/web</c> next to the server's binaries. Point it at <c>../clients/web</c> to edit the page live.
    /// </summary>
    public string? Root { get; set; }
}
