using System.ComponentModel.DataAnnotations;
using Felix.Contracts;
using Felix.Server.Agents;
using Felix.Server.Platform;

namespace Felix.Server.Approvals;

/// <summary>
/// The server's default approval settings (<c>Felix:Approvals</c>), taken field by field where a request's
/// <c>approval</c> leaves one out. The defaults ask for nothing, so clients that never heard of approvals see no change.
/// </summary>
public sealed class ApprovalOptions : IValidatableObject
{
    public const string SectionName = "Felix:Approvals";

    /// <summary>An hour: long enough for a person to notice, short enough that forgotten work does not wait for days.</summary>
    public const int DefaultTimeoutSeconds = 3600;

    /// <summary>A week: the longest a request may wait; past that the run's context is stale anyway.</summary>
    public const int MaxTimeoutSeconds = 7 * 24 * 3600;

    public bool BeforeSynthesis { get; set; }

    [Range(0.0, 1.0)]
    public double? BelowConfidence { get; set; }

    public List<string> AgentTypes { get; set; } = [];

    public bool EveryAgent { get; set; }

    [Range(1, MaxTimeoutSeconds)]
    public int TimeoutSeconds { get; set; } = DefaultTimeoutSeconds;

    /// <summary>The decision when nobody decides in time: reject unless configured, so nothing unreviewed goes out.</summary>
    public string OnTimeout { get; set; } = ApprovalDecisions.Reject;

    /// <summary>
    /// Five rounds of remarks on one step: more than a person needs to steer it, few enough that a client looping on
    /// <c>revise</c> cannot run a step's model without end (each revision runs the step again and adds its remark to the
    /// step's prompt).
    /// </summary>
    public const int DefaultMaxRevisionsPerStep = 5;

    /// <summary>How many times one step (an agent, or the synthesis) may be sent back; after that it is approved or rejected.</summary>
    [Range(0, 100)]
    public int MaxRevisionsPerStep { get; set; } = DefaultMaxRevisionsPerStep;

    /// <summary>
    /// How often each node looks for requests past their deadline. A request is settled at most this long after it
    /// expires; every node looks, and exactly one decision wins.
    /// </summary>
    [Duration("00:00:00.001")]
    public TimeSpan DeadlineCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (OnTimeout is not (ApprovalDecisions.Approve or ApprovalDecisions.Reject))
        {
            yield return new ValidationResult("must be approve or reject.", [nameof(OnTimeout)]);
        }

        // A role no agent has never waits: a misspelt one would let every output through unreviewed.
        var roles = new AgentRegistry().All.Select(p => p.AgentType).ToList();
        foreach (var unknown in AgentTypes.Where(t => !roles.Contains(t, StringComparer.OrdinalIgnoreCase)))
        {
            yield return new ValidationResult($"may only name {string.Join(", ", roles)}, not '{unknown}'.", [nameof(AgentTypes)]);
        }
    }
}
