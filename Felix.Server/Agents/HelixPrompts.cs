using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace Felix.Server.Agents;

/// <summary>What the helix asks the model (an agent's step, the synthesis) and how it reads the stated confidence.</summary>
internal static partial class HelixPrompts
{
    private const double DefaultConfidence = 0.5; // a model that states none is taken as undecided

    public static List<ChatMessage> AgentPrompt(
        AgentPlugin plugin, string task, IReadOnlyList<AgentResult> earlier, IReadOnlyList<string> remarks)
    {
        var user = new StringBuilder().Append("Task: ").AppendLine(task);
        if (earlier.Count > 0)
        {
            user.AppendLine().AppendLine("What the team has so far:");
            foreach (var o in earlier)
            {
                user.AppendLine(CultureInfo.InvariantCulture, $"[{o.AgentId} ({o.AgentType}, confidence {o.Confidence:0.00})] {OneLine(StripConfidence(o.Content))}");
            }
        }

        AddRemarks(user, remarks);
        return
        [
            new(ChatRole.System, plugin.Instructions + " Be concise. End with a line 'Confidence: X' where X is your confidence between 0 and 1."),
            new(ChatRole.User, user.ToString()),
        ];
    }

    public static List<ChatMessage> SynthesisPrompt(string task, IReadOnlyList<AgentResult> outputs, IReadOnlyList<string> remarks)
    {
        var user = new StringBuilder().Append("Task: ").AppendLine(task).AppendLine().AppendLine("Agent outputs:");
        foreach (var o in outputs)
        {
            user.AppendLine(CultureInfo.InvariantCulture, $"[{o.AgentId} ({o.AgentType}, confidence {o.Confidence:0.00})] {OneLine(StripConfidence(o.Content))}");
        }

        AddRemarks(user, remarks);
        return
        [
            new(ChatRole.System, "You are the synthesis step of a team of agents. Combine their outputs into one answer to the task: keep what they agree on, resolve or flag disagreements. End with a line 'Confidence: X' where X is between 0 and 1."),
            new(ChatRole.User, user.ToString()),
        ];
    }

    /// <summary>A reviewer's remarks on an earlier answer of this step: what the new attempt must take into account.</summary>
    private static void AddRemarks(StringBuilder user, IReadOnlyList<string> remarks)
    {
        if (remarks.Count == 0)
        {
            return;
        }

        user.AppendLine().AppendLine("A reviewer asked for a revision of your previous answer:");
        foreach (var remark in remarks)
        {
            user.Append("- ").AppendLine(OneLine(remark));
        }
    }

    public static double ParseConfidence(string text)
    {
        var matches = ConfidencePattern().Matches(text);
        return matches.Count > 0 && double.TryParse(matches[^1].Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? Math.Clamp(value > 1 && value <= 100 ? value / 100 : value, 0, 1)
            : DefaultConfidence;
    }

    public static string StripConfidence(string text) => ConfidencePattern().Replace(text, "").TrimEnd();

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    [GeneratedRegex(@"(?im)^\s*\**confidence\**\s*[:=]\s*([0-9]*\.?[0-9]+)\s*%?\s*$")]
    private static partial Regex ConfidencePattern();
}
