using Felix.Contracts.Dtos;
using Felix.Server.Scaleout;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.Scaleout;

internal static class ScaleoutProcessWaits
{
    /// <summary>
    /// Waits (60 s at most) until the workflow is finished; if it never is, the failure says its status, which node its
    /// owner entry names, and the nodes' last log lines: what a stranded workflow needs to be told apart.
    /// </summary>
    public static async Task<WorkflowResponse> WaitForTerminalShowingOwnerAsync(
        this HttpClient api, string id, RedisConnection connection, params ServerProcess[] nodes)
    {
        try
        {
            return await api.WaitForTerminalAsync(id, TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException ex)
        {
            var now = await api.GetWorkflowAsync(id);
            throw new TimeoutException(
                $"{ex.Message} ({now.Status}; owner entry '{await connection.Database.HashGetAsync(connection.Keys.Owners, id)}'); last lines:\n"
                + string.Join("\n", nodes.SelectMany(n => n.Output.TakeLast(15))), ex);
        }
    }
}
