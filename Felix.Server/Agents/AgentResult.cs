namespace Felix.Server.Agents;

/// <summary>One agent's committed output.</summary>
internal sealed record AgentResult(string AgentId, string AgentType, string Content, double Confidence);
