using Felix.Contracts.Dtos;
using Felix.Server.Platform;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace Felix.Server.Workflows;

internal static class WorkflowsExtensions
{
    /// <summary>The queue, the engine and the service the API and hubs use; the store and dispatcher come with the backend.</summary>
    public static IServiceCollection AddWorkflows(this IServiceCollection services)
    {
        services.AddOptions<WorkflowOptions>().BindConfiguration(WorkflowOptions.SectionName).ValidateSettings(WorkflowOptions.SectionName)
            .Validate(o => o.EffectiveQueueReserve < o.QueueCapacity || o.QueueCapacity == 1,
                "Felix:Workflows:QueueReserve must be less than Felix:Workflows:QueueCapacity.")
            .ValidateOnStart();
        // The host must wait out the grace period plus the time to record the interruptions.
        // Read from configuration, not IOptions<WorkflowOptions>: the host reads this while it is built, before the start-up
        // checks report every invalid setting at once.
        services.AddOptions<HostOptions>().Configure<IConfiguration>((host, configuration) =>
        {
            var grace = configuration.GetValue<TimeSpan?>($"{WorkflowOptions.SectionName}:{nameof(WorkflowOptions.ShutdownGracePeriod)}")
                ?? TimeSpan.FromSeconds(WorkflowOptions.DefaultShutdownGraceSeconds);
            host.ShutdownTimeout = TimeSpan.FromTicks(Math.Max(host.ShutdownTimeout.Ticks, (grace + TimeSpan.FromSeconds(10)).Ticks));
        });
        services.AddSingleton<WorkflowQueue>();
        services.AddSingleton<WorkflowEvents>();
        services.AddSingleton<AgentSteps>();
        services.AddSingleton<HelixWorkflow>();
        services.AddSingleton<WorkflowRunner>();
        services.AddSingleton<WorkflowService>();
        services.AddSingleton<DeferredCancels>();
        services.AddSingleton<WorkflowEngine>();
        services.AddHostedService(sp => sp.GetRequiredService<WorkflowEngine>());
        services.AddSingleton<IValidator<WorkflowRequest>, WorkflowRequestValidator>();
        return services;
    }
}
