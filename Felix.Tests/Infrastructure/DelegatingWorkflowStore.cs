using Felix.Server.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Infrastructure;

/// <summary>
/// A workflow store that passes every call to the application's own (the real one), as <c>DelegatingChatClient</c> does
/// for a model: a test overrides the one call it holds, counts or breaks, and the rest stays the product's.
/// </summary>
internal abstract class DelegatingWorkflowStore(IWorkflowStore inner) : IWorkflowStore
{
    protected IWorkflowStore Inner => inner;

    /// <summary>
    /// Puts the store <paramref name="wrap"/> makes around the registered one in its place; the wrapper is also
    /// registered as itself, so a test can reach it through the application's services.
    /// </summary>
    public static void Decorate<TStore>(IServiceCollection services, Func<IWorkflowStore, TStore> wrap)
        where TStore : class, IWorkflowStore
    {
        var original = services.Last(d => d.ServiceType == typeof(IWorkflowStore));
        services.Remove(original);
        services.AddSingleton(sp => wrap((IWorkflowStore)(original.ImplementationInstance
            ?? original.ImplementationFactory?.Invoke(sp)
            ?? ActivatorUtilities.CreateInstance(sp, original.ImplementationType!))));
        services.AddSingleton<IWorkflowStore>(sp => sp.GetRequiredService<TStore>());
    }

    public virtual Task CreateAsync(WorkflowRecord workflow, CancellationToken cancellationToken = default) =>
        inner.CreateAsync(workflow, cancellationToken);

    public virtual Task<WorkflowRecord?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        inner.GetAsync(id, cancellationToken);

    public virtual Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default) =>
        inner.UpdateAsync(id, update, cancellationToken);

    public virtual Task<(IReadOnlyList<WorkflowRecord> Items, int Total)> ListAsync(
        string? status, string? owner, int page, int pageSize, CancellationToken cancellationToken = default) =>
        inner.ListAsync(status, owner, page, pageSize, cancellationToken);
}
