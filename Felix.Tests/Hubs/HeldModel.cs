using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Hubs;

/// <summary>
/// Holds every model call until the test opens the gate, so a workflow starts but publishes its agent events only after
/// the test's clients are listening. The model itself stays the real offline one.
/// </summary>
internal sealed class HeldModel
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate.TrySetResult();

    /// <summary>Completes when the first model call waits at the gate: its run has nothing more to write until then.</summary>
    public Task FirstCallWaiting => _waiting.Task;

    /// <summary>Wraps the registered <see cref="IChatClient"/> so its calls wait for <see cref="Release"/>.</summary>
    public void Install(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(IChatClient) && !d.IsKeyedService);
        services.Remove(original);
        services.Add(new ServiceDescriptor(typeof(IChatClient), sp => new HeldChatClient(Create(original, sp), _gate.Task, _waiting), original.Lifetime));
    }

    private static IChatClient Create(ServiceDescriptor descriptor, IServiceProvider services) =>
        (IChatClient)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));

    private sealed class HeldChatClient(IChatClient inner, Task gate, TaskCompletionSource waiting) : DelegatingChatClient(inner)
    {
        public override async Task<ChatResponse> GetResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            waiting.TrySetResult();
            await gate.WaitAsync(cancellationToken);
            return await base.GetResponseAsync(messages, options, cancellationToken);
        }

        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            waiting.TrySetResult();
            await gate.WaitAsync(cancellationToken);
            await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
            {
                yield return update;
            }
        }
    }
}
