using Felix.Contracts.Dtos;
using Felix.Server.Approvals;
using Felix.Server.Platform;
using FluentValidation;

namespace Felix.Server.Workflows;

/// <summary>The original's limits on a new workflow; property names are reported as they appear in the JSON.</summary>
internal sealed class WorkflowRequestValidator : AbstractValidator<WorkflowRequest>
{
    public const int MaxTaskLength = 10_000;
    public const int MaxStepsLimit = 50;

    public WorkflowRequestValidator()
    {
        RuleFor(r => r.Task)
            .NotEmpty().WithMessage("task is required and must not be blank.")
            .MaximumCharacters(MaxTaskLength).WithMessage($"task must be at most {MaxTaskLength} characters.")
            .OverridePropertyName("task");
        RuleFor(r => r.MaxSteps)
            .InclusiveBetween(1, MaxStepsLimit).When(r => r.MaxSteps is not null)
            .WithMessage($"max_steps must be between 1 and {MaxStepsLimit}.")
            .OverridePropertyName("max_steps");
        RuleFor(r => r.ParentWorkflowId)
            .MaximumLength(64).WithMessage("parent_workflow_id must be at most 64 characters.")
            .OverridePropertyName("parent_workflow_id");
        RuleFor(r => r.Approval!).SetValidator(new ApprovalSettingsValidator()).When(r => r.Approval is not null)
            .OverridePropertyName("approval");
    }
}
