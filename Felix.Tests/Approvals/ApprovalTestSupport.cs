using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using Felix.Contracts.Dtos;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Approvals;

internal static class ApprovalTestSupport
{
    /// <summary>Starts a workflow with the given <c>approval</c> settings (snake_case JSON, as a client sends them).</summary>
    public static async Task<string> CreateWithApprovalAsync(this HttpClient client, object approval, int maxSteps = 2, string task = "Explain quantum computing")
    {
        var response = await client.PostAsJsonAsync("api/v1/workflows", new { task, max_steps = maxSteps, approval }).DefaultTimeout();
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<WorkflowResponse>(WorkflowApiExtensions.Json).DefaultTimeout())!.WorkflowId;
    }

    public static async Task<ApprovalListResponse> ListApprovalsAsync(this HttpClient client, string workflowId) =>
        (await client.GetFromJsonAsync<ApprovalListResponse>($"api/v1/workflows/{workflowId}/approvals", WorkflowApiExtensions.Json).DefaultTimeout())!;

    /// <summary>Polls until the workflow has a pending approval request and is parked on it.</summary>
    public static async Task<ApprovalInfo> WaitForPendingApprovalAsync(this HttpClient client, string workflowId, TimeSpan? limit = null)
    {
        ApprovalInfo? pending = null;
        await Poll.UntilAsync(async () =>
        {
            pending = (await client.ListApprovalsAsync(workflowId)).Approvals.FirstOrDefault(a => a.Status == ApprovalInfo.Pending);
            return pending is not null && (await client.GetWorkflowAsync(workflowId)).Status == Contracts.WorkflowStatuses.AwaitingApproval;
        }, $"workflow {workflowId} to wait for an approval", limit);
        return pending!;
    }

    public static Task<HttpResponseMessage> DecideAsync(this HttpClient client, string workflowId, string approvalId, string decision, string? comment = null) =>
        client.PostAsJsonAsync($"api/v1/workflows/{workflowId}/approvals/{approvalId}", new { decision, comment }).DefaultTimeout();

    /// <summary>Approves every request until the workflow ends; returns how many it approved.</summary>
    public static async Task<int> ApproveUntilTerminalAsync(this HttpClient client, string workflowId)
    {
        var approved = 0;
        while (true)
        {
            var workflow = await client.GetWorkflowAsync(workflowId);
            if (Contracts.WorkflowStatuses.IsTerminal(workflow.Status))
            {
                await client.WaitForTerminalAsync(workflowId);
                return approved;
            }

            var pending = (await client.ListApprovalsAsync(workflowId)).Approvals.FirstOrDefault(a => a.Status == ApprovalInfo.Pending);
            if (pending is not null && (await client.DecideAsync(workflowId, pending.ApprovalId, "approve")).StatusCode == HttpStatusCode.OK)
            {
                approved++;
            }

            await Task.Delay(20);
        }
    }
}

/// <summary>Records every prompt the (real, offline) model is given, so a test can see what a step was asked.</summary>
internal sealed class RecordingModel
{
    private readonly List<string> _prompts = [];

    public IReadOnlyList<string> Prompts
    {
        get
        {
            lock (_prompts)
            {
                return [.. _prompts];
            }
        }
    }

    public void Install(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(IChatClient) && !d.IsKeyedService);
        services.Remove(original);
        services.Add(new ServiceDescriptor(typeof(IChatClient), sp => new RecordingChatClient(Create(original, sp), this), original.Lifetime));
    }

    private static IChatClient Create(ServiceDescriptor descriptor, IServiceProvider services) =>
        (IChatClient)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));

    private void Add(IEnumerable<ChatMessage> messages)
    {
        lock (_prompts)
        {
            _prompts.Add(string.Join("\n", messages.Select(m => m.Text)));
        }
    }

    private sealed class RecordingChatClient(IChatClient inner, RecordingModel owner) : DelegatingChatClient(inner)
    {
        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var list = messages.ToList();
            owner.Add(list);
            await foreach (var update in base.GetStreamingResponseAsync(list, options, cancellationToken))
            {
                yield return update;
            }
        }
    }
}
