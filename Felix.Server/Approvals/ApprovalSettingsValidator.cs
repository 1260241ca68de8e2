using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Agents;
using Felix.Server.Platform;
using FluentValidation;

namespace Felix.Server.Approvals;

/// <summary>The <c>approval</c> field of a new workflow; errors are named by their JSON path (<c>approval.timeout_seconds</c>).</summary>
internal sealed class ApprovalSettingsValidator : AbstractValidator<ApprovalSettings>
{
    public ApprovalSettingsValidator()
    {
        var roles = new AgentRegistry().All.Select(p => p.AgentType).ToList();
        RuleFor(a => a.BelowConfidence)
            .InclusiveBetween(0.0, 1.0).When(a => a.BelowConfidence is not null)
            .WithMessage("approval.below_confidence must be between 0 and 1.")
            .OverridePropertyName("below_confidence");
        RuleFor(a => a.AgentTypes)
            .Must(types => types!.All(t => roles.Contains(t, StringComparer.OrdinalIgnoreCase))).When(a => a.AgentTypes is not null)
            .WithMessage($"approval.agent_types may only name {string.Join(", ", roles)}.")
            .OverridePropertyName("agent_types");
        RuleFor(a => a.TimeoutSeconds)
            .InclusiveBetween(1, ApprovalOptions.MaxTimeoutSeconds).When(a => a.TimeoutSeconds is not null)
            .WithMessage($"approval.timeout_seconds must be between 1 and {ApprovalOptions.MaxTimeoutSeconds}.")
            .OverridePropertyName("timeout_seconds");
        RuleFor(a => a.OnTimeout)
            .Must(o => o is ApprovalDecisions.Approve or ApprovalDecisions.Reject).When(a => a.OnTimeout is not null)
            .WithMessage("approval.on_timeout must be approve or reject.")
            .OverridePropertyName("on_timeout");
        RuleFor(a => a).Custom((settings, context) =>
        {
            // The first few are enough to act on; a body of thousands would otherwise be answered with thousands of errors.
            foreach (var field in (settings.UnknownFields?.Keys ?? Enumerable.Empty<string>()).Take(10))
            {
                context.AddFailure(SafeText.Escape(field), $"approval has no field {SafeText.Escape(field)}; its fields are {KnownFields}.");
            }
        });
    }

    private const string KnownFields = "before_synthesis, below_confidence, agent_types, every_agent, timeout_seconds and on_timeout";
}
