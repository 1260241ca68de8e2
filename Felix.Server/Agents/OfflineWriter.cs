using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace Felix.Server.Agents;

/// <summary>
/// Writes the offline model's text: the role comes from the system prompt, the subject from the task's own words, the
/// choice of phrasing from a hash of the prompt and the temperature (so the same prompt gives the same text).
/// </summary>
internal static partial class OfflineWriter
{
    private static readonly string[][] ResearchLines =
    [
        ["To work on \"{task}\", the first thing to pin down is what {k1} means in practice.", "The task \"{task}\" turns on {k1}; that is where research starts."],
        ["The facts gather around {k1} and {k2}: how each is defined, where it is used and what is already known about it.", "Known ground: {k1} is well described, {k2} less so, and the link between them is where the substance is."],
        ["Useful angles are the history of {k1}, how practitioners handle {k2} today and the trade-offs they report.", "Three angles look productive: definitions, current practice around {k2}, and reported failures of {k1}."],
        ["Open questions: which assumptions about {k2} hold, and what evidence would change the picture for {k3}?", "Still open: how {k3} behaves at scale, and whether {k2} is a cause or a symptom."],
    ];

    private static readonly string[][] AnalysisLines =
    [
        ["Putting the research together, {k1} is the central thread and {k2} the main constraint.", "Read together, the findings make {k1} the core issue and {k2} the limiting factor."],
        ["The strongest pattern is that {k1} and {k3} move together, consistently across the angles explored.", "A clear pattern: wherever {k2} is handled well, {k1} follows; where it is not, {k3} suffers."],
        ["A reasonable conclusion is to settle {k2} first, because it decides how far {k1} can go.", "The conclusion that follows: address {k2} early, then build on {k1}, and treat {k3} as a check."],
    ];

    private static readonly string[][] CriticLines =
    [
        ["The weakest point so far is the assumption that {k1} generalises; it needs a counter-example check.", "The conclusions lean on {k1} holding everywhere, which has not been shown."],
        ["Risk: the analysis treats {k2} as settled without measuring it.", "A gap: nothing so far quantifies {k2}, so its weight in the conclusion is a guess."],
        ["What would strengthen the result is a concrete test of {k3} against the stated conclusion.", "To firm this up, compare the claim about {k3} with one real case before relying on it."],
    ];

    private static readonly HashSet<string> StopWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "about", "after", "again", "also", "and", "are", "based", "been", "before", "being", "between", "both", "could", "does",
        "each", "explain", "from", "have", "into", "like", "make", "more", "most", "much", "other", "over", "should", "some",
        "such", "than", "that", "their", "them", "then", "there", "these", "they", "this", "those", "through", "what", "when",
        "where", "which", "while", "will", "with", "would", "your", "describe", "discuss", "analyze", "analyse", "please",
        // Instructions rather than subjects: "Compare tea and coffee" is about tea and coffee.
        "compare", "plan", "design", "summarise", "summarize", "write", "create", "list", "give", "tell", "show", "find",
        "evaluate", "assess", "review", "outline", "propose", "suggest", "help", "want", "need",
        // Short function words, now that three-letter subjects (tea, art, war) count.
        "the", "and", "for", "how", "why", "who", "are", "was", "its", "our", "you", "can", "not", "but", "all", "any", "has",
        "had", "did", "get", "use", "way", "one", "two", "new", "old", "out", "off", "per", "via", "yet", "too", "own",
    };

    public static (string Reasoning, string Text) Write(IReadOnlyList<ChatMessage> messages, float temperature, int maxTokens)
    {
        var system = string.Join("\n", messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text));
        var user = string.Join("\n", messages.Where(m => m.Role != ChatRole.System).Select(m => m.Text));
        var task = TaskOf(user);
        var role = RoleOf(system);
        var keywords = Keywords(task);
        var seed = Hash($"{role}|{user}|{temperature.ToString("0.00", CultureInfo.InvariantCulture)}");
        var random = new Random((int)seed);

        var body = role == "synthesis"
            ? Synthesize(user, task, keywords)
            : Compose(role switch { "analysis" => AnalysisLines, "critic" => CriticLines, _ => ResearchLines }, task, keywords, temperature, random);
        var confidence = Confidence(role, temperature, random);
        var closing = $"Confidence: {confidence.ToString("0.00", CultureInfo.InvariantCulture)}";
        var text = Truncate(body, Math.Max(8, maxTokens - 2)) + "\n\n" + closing;
        var reasoning = $"Role: {role}. Subject: {string.Join(", ", keywords)}. Plan: {Plan(role)}";
        return (reasoning, text);
    }

    /// <summary>Splits text into word tokens that keep their trailing white space, so tokens concatenate to the text.</summary>
    public static List<string> Tokens(string? text)
    {
        var tokens = new List<string>();
        if (!string.IsNullOrEmpty(text))
        {
            foreach (var match in TokenPattern().EnumerateMatches(text))
            {
                tokens.Add(text.Substring(match.Index, match.Length));
            }
        }

        return tokens;
    }

    /// <summary>How many tokens <see cref="Tokens"/> would give, without making them (nor a match object per token).</summary>
    public static int TokenCount(string? text) => string.IsNullOrEmpty(text) ? 0 : TokenPattern().Count(text);

    /// <summary>The offline model's count of the tokens of a prompt: the word tokens of every message.</summary>
    public static int Count(IEnumerable<ChatMessage> messages) => messages.Sum(m => TokenCount(m.Text));

    /// <summary>FNV-1a: stable across processes, unlike <see cref="string.GetHashCode()"/>.</summary>
    public static uint Hash(string value)
    {
        var hash = 2166136261u;
        foreach (var c in value)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }

    private static string Compose(string[][] lines, string task, IReadOnlyList<string> k, float temperature, Random random)
    {
        // Hotter agents say more and vary more: every line at the top of the helix, fewer at the bottom.
        var count = Math.Clamp((int)Math.Round(lines.Length * (0.55 + 0.5 * temperature)), 2, lines.Length);
        var builder = new StringBuilder();
        foreach (var variants in lines.Take(count))
        {
            var pick = temperature < 0.3f ? variants[0] : variants[random.Next(variants.Length)];
            builder.Append(Fill(pick, task, k)).Append(' ');
        }

        return builder.ToString().TrimEnd();
    }

    private static string Synthesize(string user, string task, IReadOnlyList<string> k)
    {
        var agents = AgentBlock().Matches(user).Select(m => (Id: m.Groups["id"].Value, First: FirstSentence(m.Groups["text"].Value))).ToList();
        var builder = new StringBuilder();
        builder.Append(CultureInfo.InvariantCulture, $"Synthesis of {agents.Count} agent outputs on \"{Short(task)}\". ");
        foreach (var (id, first) in agents)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{id}: {first} ");
        }

        builder.Append(Fill("Overall: {k1} is the heart of the matter, {k2} the constraint to settle first, and {k3} the claim to verify before acting.", task, k));
        return builder.ToString();
    }

    private static double Confidence(string role, float temperature, Random random)
    {
        var baseline = role switch { "research" => 0.68, "analysis" => 0.76, "critic" => 0.8, _ => 0.86 };
        var value = baseline + (0.9 - temperature) * 0.08 + (random.NextDouble() - 0.5) * 0.06;
        return Math.Round(Math.Clamp(value, 0.05, 0.97), 2);
    }

    private static string Plan(string role) => role switch
    {
        "analysis" => "weigh the findings, find the pattern, state a conclusion. ",
        "critic" => "look for the weakest assumption, the unmeasured risk, the missing test. ",
        "synthesis" => "merge the agents' points, keep what they agree on, note what to verify. ",
        _ => "define the terms, collect known facts, list angles and open questions. ",
    };

    private static string RoleOf(string system)
    {
        foreach (var role in (string[])["synthesis", "critic", "analysis", "research"])
        {
            if (system.Contains(role, StringComparison.OrdinalIgnoreCase))
            {
                return role;
            }
        }

        return "research";
    }

    private static string TaskOf(string user)
    {
        var match = TaskLine().Match(user);
        return (match.Success ? match.Groups[1].Value : user).Trim();
    }

    private static List<string> Keywords(string task)
    {
        var words = WordPattern().Matches(task).Select(m => m.Value.ToLowerInvariant())
            .Where(w => w.Length >= 3 && !StopWords.Contains(w)).Distinct().Take(3).ToList();
        string[] fallback = ["the subject", "its context", "the outcome"];
        while (words.Count < 3)
        {
            words.Add(fallback[words.Count]);
        }

        return words;
    }

    private static string Fill(string template, string task, IReadOnlyList<string> k) =>
        template.Replace("{task}", Short(task), StringComparison.Ordinal)
            .Replace("{k1}", k[0], StringComparison.Ordinal)
            .Replace("{k2}", k[1], StringComparison.Ordinal)
            .Replace("{k3}", k[2], StringComparison.Ordinal);

    private static string Short(string task) => task.Length <= 80 ? task : task[..77].TrimEnd() + "...";

    private static string FirstSentence(string text)
    {
        var end = text.IndexOf(". ", StringComparison.Ordinal);
        return (end < 0 ? text : text[..(end + 1)]).Trim();
    }

    private static string Truncate(string text, int maxTokens)
    {
        var tokens = Tokens(text).ToList();
        return tokens.Count <= maxTokens ? text : string.Concat(tokens.Take(maxTokens)).TrimEnd();
    }

    [GeneratedRegex(@"\S+\s*")]
    private static partial Regex TokenPattern();

    [GeneratedRegex(@"[\p{L}\p{N}][\p{L}\p{N}'-]*")]
    private static partial Regex WordPattern();

    [GeneratedRegex(@"^Task:\s*(.+)$", RegexOptions.Multiline)]
    private static partial Regex TaskLine();

    [GeneratedRegex(@"^\[(?<id>[a-z]+_\d+)[^\]]*\]\s*(?<text>.+)$", RegexOptions.Multiline)]
    private static partial Regex AgentBlock();
}
