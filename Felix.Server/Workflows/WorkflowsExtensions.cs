using Felix.Contracts.Dtos;
using FluentValidation;

namespace Felix.Server.Workflows;

internal static class WorkflowsExtensions
{
    /// <summary>The store (in memory by default), the queue, the engine and the service the API and hubs use.</summary>
    public static IServiceCollection AddWorkflows(this IServiceCollection services)
    {
        services.AddOptions<WorkflowOptions>().BindConfiguration(WorkflowOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IWorkflowStore, InMemoryWorkflowStore>();
        services.AddSingleton<WorkflowQueue>();
        services.AddSingleton<WorkflowEvents>();
        services.AddSingleton<WorkflowRunner>();
        services.AddSingleton<WorkflowService>();
        services.AddSingleton<WorkflowEngine>();
        services.AddHostedService(sp => sp.GetRequiredService<WorkflowEngine>());
        services.AddSingleton<IValidator<WorkflowRequest>, WorkflowRequestValidator>();
        return services;
    }
}
