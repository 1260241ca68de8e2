using System.CommandLine;
using Felix.Client;

namespace Felix.Cli;

/// <summary>Options that several commands take; each command gets its own instance, so each lists only what acts on it.</summary>
internal static class CliOptions
{
    /// <summary>The hub protocol: only for the commands that open a hub connection (<c>run</c>, <c>watch</c>).</summary>
    public static Option<string> Protocol()
    {
        var option = new Option<string>("--protocol")
        {
            Description = "Hub protocol for the live events",
            DefaultValueFactory = _ => "json",
        };
        option.AcceptOnlyFromAmong("json", "messagepack");
        return option;
    }

    public static FelixProtocol ProtocolOf(string? value) => value == "messagepack" ? FelixProtocol.MessagePack : FelixProtocol.Json;

    /// <summary>JSON on stdout instead of text: one object, or one event per line (NDJSON) for a stream.</summary>
    public static Option<bool> Json(string description) => new("--json") { Description = description };

    public static Option<bool> NoLive() => new("--no-live") { Description = "Plain line output even on a terminal" };
}
