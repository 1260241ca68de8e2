using System.Text.Json.Nodes;

namespace Felix.Server.AgUi;

/// <summary>An AG-UI event to send, with its position when it came from a Felix event (run framing has none).</summary>
internal readonly record struct AgUiFrame(JsonObject Event, AgUiPosition? Position);
