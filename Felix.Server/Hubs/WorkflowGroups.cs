namespace Felix.Server.Hubs;

/// <summary>SignalR group names, built in one place.</summary>
internal static class WorkflowGroups
{
    public static string For(string workflowId) => "wf:" + workflowId;
}
