using Felix.Contracts.Dtos;
using Felix.Server.Observability;
using Felix.Server.Platform;
using FluentValidation;

namespace Felix.Server.Approvals;

internal static class ApprovalsExtensions
{
    /// <summary>The server's default approval settings, the gate runs stop at, decisions and their deadline.</summary>
    public static IServiceCollection AddApprovals(this IServiceCollection services)
    {
        services.AddOptions<ApprovalOptions>().BindConfiguration(ApprovalOptions.SectionName).ValidateSettings(ApprovalOptions.SectionName).ValidateOnStart();
        services.AddSingleton<ApprovalGate>();
        services.AddSingleton<ApprovalService>();
        services.AddSingleton<ApprovalDeadlineService>();
        services.AddHostedService(sp => sp.GetRequiredService<ApprovalDeadlineService>());
        services.AddSingleton<IValidator<ApprovalDecision>, ApprovalDecisionValidator>();
        return services;
    }

    public static WebApplication MapApprovals(this WebApplication app)
    {
        var deadlines = app.Services.GetRequiredService<ApprovalDeadlineService>();
        app.Services.GetRequiredService<FelixMetrics>().ObserveApprovalsWaiting(() => deadlines.Waiting);
        app.MapApprovalsApi();
        return app;
    }
}
