using System.Text;
using Felix.Server.Agents;
using Felix.Server.Workflows;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Agents;

public sealed class OfflineChatClientTests
{
    private static OfflineChatClient Client() =>
        new(Options.Create(new LlmOptions { OfflineTokenDelay = TimeSpan.Zero }), TimeProvider.System);

    private static List<ChatMessage> Prompt(string role, string task) =>
    [
        new(ChatRole.System, $"You are a {role} agent."),
        new(ChatRole.User, $"Task: {task}"),
    ];

    [Fact]
    public async Task SamePromptAndTemperatureGiveTheSameText()
    {
        var options = new ChatOptions { Temperature = 0.7f };

        var first = await Client().GetResponseAsync(Prompt("research", "Design a bridge over the river"), options);
        var second = await Client().GetResponseAsync(Prompt("research", "Design a bridge over the river"), options);

        Assert.Equal(first.Text, second.Text);
        Assert.Contains("bridge", first.Text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task RolesWriteDifferentTextAboutTheSameTask()
    {
        var research = await Client().GetResponseAsync(Prompt("research", "Plan a city library"));
        var critic = await Client().GetResponseAsync(Prompt("critic", "Plan a city library"));

        Assert.NotEqual(research.Text, critic.Text);
        Assert.Contains("library", critic.Text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task HotterAgentsWriteMoreThanFocusedOnes()
    {
        var hot = await Client().GetResponseAsync(Prompt("research", "Explain tides and the moon"), new ChatOptions { Temperature = 0.9f });
        var cold = await Client().GetResponseAsync(Prompt("research", "Explain tides and the moon"), new ChatOptions { Temperature = 0.2f });

        Assert.True(hot.Text.Length > cold.Text.Length, $"{hot.Text.Length} vs {cold.Text.Length}");
    }

    [Fact]
    public async Task StreamEndsWithAConfidenceLineAndUsageThatCountsTheTokens()
    {
        var text = new StringBuilder();
        var reasoning = new StringBuilder();
        UsageDetails? usage = null;
        var textUpdates = 0;
        await foreach (var update in Client().GetStreamingResponseAsync(Prompt("analysis", "Weigh nuclear against gas")))
        {
            foreach (var content in update.Contents)
            {
                switch (content)
                {
                    case TextReasoningContent r: reasoning.Append(r.Text); break;
                    case TextContent t: text.Append(t.Text); textUpdates++; break;
                    case UsageContent u: usage = u.Details; break;
                }
            }
        }

        Assert.Matches(@"Confidence: 0\.\d\d$", text.ToString());
        Assert.InRange(Felix.Server.Workflows.HelixWorkflow.ParseConfidence(text.ToString()), 0.05, 0.97);
        Assert.StartsWith("Role: analysis.", reasoning.ToString(), StringComparison.Ordinal);
        Assert.NotNull(usage);
        Assert.True(textUpdates > 10, "text streams token by token");
        Assert.Equal(usage!.InputTokenCount + usage.OutputTokenCount, usage.TotalTokenCount);
    }

    [Fact]
    public async Task MaxOutputTokensBoundsTheText()
    {
        var response = await Client().GetResponseAsync(Prompt("research", "Explain tides and the moon"), new ChatOptions { MaxOutputTokens = 12 });

        Assert.True(response.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length <= 14, response.Text);
    }

    [Theory]
    [InlineData("text\nConfidence: 0.83", 0.83)]
    [InlineData("text\n**Confidence**: 75%", 0.75)]
    [InlineData("no confidence stated", 0.5)]
    [InlineData("Confidence: 150", 1.0)]
    public void ConfidenceIsReadFromTheLastConfidenceLine(string text, double expected)
    {
        Assert.Equal(expected, HelixWorkflow.ParseConfidence(text), 3);
    }
}
