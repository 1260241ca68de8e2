using System.Security.Cryptography;
using System.Text;

namespace Felix.Server.AgUi;

/// <summary>
/// Thread to workflow: each user message of a thread is answered by one workflow whose id is derived from the tenant, the
/// thread and the message id. Any node finds a thread's workflow with a plain lookup by id, in every store and after a
/// restart, with no index beside the workflows; the record also keeps its thread (<c>ThreadId</c>). A run that repeats the
/// last user message finds its workflow and watches it again; a new user message starts the next workflow, whose parent
/// is the one that answered the message before it.
/// </summary>
internal static class AgUiThreads
{
    public static string WorkflowId(string tenant, string threadId, string messageId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{tenant.Length}:{tenant}{threadId.Length}:{threadId}{messageId}"));
        return "wf_" + Convert.ToHexStringLower(hash, 0, 8);
    }
}
