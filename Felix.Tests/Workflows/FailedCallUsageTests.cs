using System.Runtime.CompilerServices;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Workflows;

/// <summary>
/// A workflow whose model call fails after streaming still reports what it spent: the committed agents as the model
/// reported them, and the failed call exactly when the model reported its usage before failing, estimated otherwise.
/// </summary>
public sealed class FailedCallUsageTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AFailedCallIsCountedExactlyWhenReportedAndEstimatedOtherwise(bool reportsUsage)
    {
        await using var app = new FelixApplication().WithServices(services => BreakingModel.Install(services, reportsUsage));
        var client = app.CreateApiClient();

        var id = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
        var workflow = await client.WaitForTerminalAsync(id);

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        var research = Assert.Single((await client.ReadEventsAsync(id)).OfType<AgentCompletedEvent>());
        var usage = workflow.PerformanceMetrics!;
        Assert.Equal((2, 1), (usage.LlmCalls, usage.AbandonedCalls));
        if (reportsUsage)
        {
            Assert.Null(usage.EstimatedTokens);
            Assert.Equal(
                (research.PromptTokens + BreakingModel.PromptTokens, research.CompletionTokens + BreakingModel.CompletionTokens),
                (usage.PromptTokens, usage.CompletionTokens));
        }
        else
        {
            // The prompt it was sent plus the three words it streamed.
            Assert.True(usage.EstimatedTokens > 3, $"estimated {usage.EstimatedTokens}");
            Assert.Equal(research.PromptTokens + research.CompletionTokens + usage.EstimatedTokens, usage.TotalTokens);
        }
    }

    /// <summary>The offline model for research; any later call streams three words and then fails.</summary>
    private sealed class BreakingModel(IChatClient inner, bool reportsUsage) : DelegatingChatClient(inner)
    {
        public const long PromptTokens = 321;
        public const long CompletionTokens = 3;

        public static void Install(IServiceCollection services, bool reportsUsage)
        {
            var original = services.Last(d => d.ServiceType == typeof(IChatClient) && !d.IsKeyedService);
            services.Remove(original);
            services.Add(new ServiceDescriptor(typeof(IChatClient), sp => new BreakingModel(
                (IChatClient)(original.ImplementationInstance
                    ?? original.ImplementationFactory?.Invoke(sp)
                    ?? ActivatorUtilities.CreateInstance(sp, original.ImplementationType!)), reportsUsage), original.Lifetime));
        }

        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var list = messages.ToList();
            if (list.Any(m => m.Role == ChatRole.System && m.Text.Contains("research agent", StringComparison.OrdinalIgnoreCase)))
            {
                await foreach (var update in base.GetStreamingResponseAsync(list, options, cancellationToken))
                {
                    yield return update;
                }

                yield break;
            }

            foreach (var word in (string[])["The ", "model ", "broke "])
            {
                await Task.Yield();
                yield return new ChatResponseUpdate(ChatRole.Assistant, word);
            }

            if (reportsUsage)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails
                {
                    InputTokenCount = PromptTokens, OutputTokenCount = CompletionTokens,
                })]);
            }

            throw new InvalidOperationException("The model's connection dropped.");
        }
    }
}
