using Felix.Contracts.Dtos;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace Felix.Server.Workflows;

internal static class WorkflowsExtensions
{
    /// <summary>The store (in memory by default), the queue, the engine and the service the API and hubs use.</summary>
    public static IServiceCollection AddWorkflows(this IServiceCollection services)
    {
        services.AddOptions<WorkflowOptions>().BindConfiguration(WorkflowOptions.SectionName).ValidateDataAnnotations()
            .Validate(o => o.ShutdownGracePeriod >= TimeSpan.Zero, "Felix:Workflows:ShutdownGracePeriod must not be negative.")
            .Validate(o => o.EffectiveQueueReserve < o.QueueCapacity || o.QueueCapacity == 1,
                "Felix:Workflows:QueueReserve must be less than Felix:Workflows:QueueCapacity.")
            .ValidateOnStart();
        // The host must wait out the grace period plus the time to record the interruptions.
        services.AddOptions<HostOptions>().Configure<IOptions<WorkflowOptions>>((host, workflows) =>
            host.ShutdownTimeout = TimeSpan.FromTicks(Math.Max(host.ShutdownTimeout.Ticks, (workflows.Value.ShutdownGracePeriod + TimeSpan.FromSeconds(10)).Ticks)));
        services.AddSingleton<IWorkflowStore, InMemoryWorkflowStore>();
        services.AddSingleton<WorkflowQueue>();
        services.AddSingleton<IWorkflowDispatcher, LocalWorkflowDispatcher>();
        services.AddSingleton<WorkflowEvents>();
        services.AddSingleton<WorkflowRunner>();
        services.AddSingleton<WorkflowService>();
        services.AddSingleton<WorkflowEngine>();
        services.AddHostedService(sp => sp.GetRequiredService<WorkflowEngine>());
        services.AddSingleton<IValidator<WorkflowRequest>, WorkflowRequestValidator>();
        return services;
    }
}
