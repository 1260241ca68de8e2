using Felix.Contracts.Dtos;
using Felix.Contracts;
using Felix.Server.Platform;
using FluentValidation;

namespace Felix.Server.Approvals;

/// <summary>A decision's fields, named as in the JSON; the hub reports the same messages.</summary>
internal sealed class ApprovalDecisionValidator : AbstractValidator<ApprovalDecision>
{
    public const int MaxCommentLength = 2000;

    public ApprovalDecisionValidator()
    {
        RuleFor(d => d.Decision)
            .Must(d => d is not null && ApprovalDecisions.All.Contains(d))
            .WithMessage($"decision must be one of {string.Join(", ", ApprovalDecisions.All)}.")
            .OverridePropertyName("decision");
        RuleFor(d => d.Comment)
            .NotEmpty().When(d => d.Decision == ApprovalDecisions.Revise)
            .WithMessage("comment is required to revise: it tells the step what to change.")
            .MaximumCharacters(MaxCommentLength).WithMessage($"comment must be at most {MaxCommentLength} characters.")
            .OverridePropertyName("comment");
    }
}
