using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
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

    /// <summary>
    /// An optional whole number; anything else is refused with a message that names the option and the value, and so is
    /// a number outside 1..<paramref name="max"/> when a maximum is given.
    /// </summary>
    public static Option<int?> WholeNumber(string name, string description, int? max = null) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var value = ParseWholeNumber(result, name);
            if (value is { } n && max is { } most && (n < 1 || n > most))
            {
                result.AddError($"{name} must be between 1 and {most}.");
                return null;
            }

            return value;
        },
    };

    /// <summary>A whole number with a default.</summary>
    public static Option<int> WholeNumber(string name, string description, int defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => ParseWholeNumber(result, name) ?? defaultValue,
    };

    private static int? ParseWholeNumber(ArgumentResult result, string name)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        var text = result.Tokens[0].Value;
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        result.AddError($"{name} must be a whole number, got '{text}'.");
        return null;
    }

    public static Option<bool> NoLive() => new("--no-live") { Description = "Plain line output even on a terminal" };
}
