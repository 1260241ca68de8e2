namespace Felix.Contracts;

/// <summary>Paths of the SignalR hubs, relative to the server's base address.</summary>
public static class HubPaths
{
    /// <summary>The workflow hub (<see cref="IWorkflowHub"/>, <see cref="IWorkflowClient"/>).</summary>
    public const string Workflows = "/hubs/workflows";

    /// <summary>The system hub (<see cref="ISystemClient"/>).</summary>
    public const string System = "/hubs/system";
}
